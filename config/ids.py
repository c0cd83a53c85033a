"""Public identifiers: a type prefix and 24 random base62 characters (`pay_…`, `cus_…`)."""

import secrets
import string
from functools import partial

from django.db import models

_ALPHABET = string.digits + string.ascii_letters
RANDOM_LENGTH = 24
MAX_LENGTH = 32
_SPACE = len(_ALPHABET) ** RANDOM_LENGTH  # ≈ 2^142.9


def new_public_id(prefix: str) -> str:
    # One getrandom call per id (not one per character): ids are minted several times per
    # payment. 160 random bits reduced mod 62^24 keep the bias below 2^-17.
    value = int.from_bytes(secrets.token_bytes(20), "big") % _SPACE
    chars = []
    for _ in range(RANDOM_LENGTH):
        value, digit = divmod(value, 62)
        chars.append(_ALPHABET[digit])
    return f"{prefix}_" + "".join(chars)


def public_id_field(prefix: str) -> models.CharField:
    """A primary key that mints `<prefix>_…` ids (in Python, so rows can be written in one
    statement with their ids already known)."""
    return models.CharField(
        primary_key=True,
        max_length=MAX_LENGTH,
        default=partial(new_public_id, prefix),
        editable=False,
    )
