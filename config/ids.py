"""Public identifiers: a type prefix and 24 random base62 characters (`pay_…`, `cus_…`)."""

import secrets
import string

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
