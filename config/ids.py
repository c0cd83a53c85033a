"""Public identifiers: a type prefix and 24 random base62 characters (`pay_…`, `cus_…`)."""

import secrets
import string
from functools import partial

from django.db import models

_ALPHABET = string.digits + string.ascii_letters
RANDOM_LENGTH = 24
MAX_LENGTH = 32
# Random bytes below 248 (4 times 62) map uniformly onto the alphabet; the rest are dropped.
_BYTE_TO_CHAR = bytes(_ALPHABET.encode()[byte % len(_ALPHABET)] for byte in range(256))
_UNEVEN_BYTES = bytes(range(4 * len(_ALPHABET), 256))


def new_public_id(prefix: str) -> str:
    """`<prefix>_` and 24 uniformly random base62 characters (≈ 143 bits). Ids are minted
    several times per payment: one getrandom call and one C-level translate, no Python loop
    per character."""
    while True:
        chars = secrets.token_bytes(32).translate(_BYTE_TO_CHAR, _UNEVEN_BYTES)
        if len(chars) >= RANDOM_LENGTH:  # short about once in 2 million draws: draw again
            return f"{prefix}_{chars[:RANDOM_LENGTH].decode()}"


def public_id_field(prefix: str) -> models.CharField:
    """A primary key that mints `<prefix>_…` ids (in Python, so rows can be written in one
    statement with their ids already known)."""
    return models.CharField(
        primary_key=True,
        max_length=MAX_LENGTH,
        default=partial(new_public_id, prefix),
        editable=False,
    )
