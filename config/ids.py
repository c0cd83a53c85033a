"""Public identifiers: a type prefix and 24 random base62 characters (`pay_…`, `cus_…`)."""

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
RANDOM_LENGTH = 24
MAX_LENGTH = 32


def new_public_id(prefix: str) -> str:
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(RANDOM_LENGTH))
