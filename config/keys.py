"""The key-encryption keys (KEKs) from `VAULT_KEYS`, and AES-256-GCM sealing under them.

The lowest layer, so every app can seal a secret it must read back later (card data keys in
the payments vault, gateway credentials, webhook signing secrets) under the same versioned
keys, which `manage.py rotate_vault_keys` rotates.
"""

import base64
import functools
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

NONCE_BYTES = 12


@dataclass(frozen=True)
class VaultKeys:
    keks: dict[int, bytes]
    fingerprint_key: bytes

    @property
    def active_version(self) -> int:
        return max(self.keks)


def _decode_key(value: str, name: str) -> bytes:
    try:
        key = base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not valid base64") from exc
    if len(key) != 32:
        raise ImproperlyConfigured(f"{name} must decode to 32 bytes (AES-256)")
    return key


def parse_vault_keys(keks_setting: str, fingerprint_setting: str) -> VaultKeys:
    """Parse `VAULT_KEYS` ("1:<base64>,2:<base64>") and `VAULT_FINGERPRINT_KEY`."""
    keks: dict[int, bytes] = {}
    for entry in filter(None, (part.strip() for part in keks_setting.split(","))):
        version, _, encoded = entry.partition(":")
        if not version.isdigit() or not encoded:
            raise ImproperlyConfigured("VAULT_KEYS entries look like '<version>:<base64 key>'")
        keks[int(version)] = _decode_key(encoded, f"VAULT_KEYS version {version}")
    if not keks:
        raise ImproperlyConfigured("VAULT_KEYS is not set")
    if not fingerprint_setting:
        raise ImproperlyConfigured("VAULT_FINGERPRINT_KEY is not set")
    return VaultKeys(keks, _decode_key(fingerprint_setting, "VAULT_FINGERPRINT_KEY"))


@functools.cache
def vault_keys() -> VaultKeys:
    return parse_vault_keys(settings.VAULT_KEYS, settings.VAULT_FINGERPRINT_KEY)


def seal(key: bytes, plaintext: bytes, associated: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, associated)


def open_sealed(key: bytes, sealed: bytes, associated: bytes) -> bytes:
    return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated)


class VaultKeyMissing(KeyError):
    """A sealed value names a key version that `VAULT_KEYS` does not (or no longer) hold. A
    KeyError, as a plain dict lookup raised before this had a name."""


def kek(version: int) -> bytes:
    try:
        return vault_keys().keks[version]
    except KeyError:
        raise VaultKeyMissing(version) from None


def secret_seal(plaintext: bytes, *, associated: str) -> tuple[int, bytes]:
    """Seal a small secret directly under the active KEK, bound to `associated` (the owning
    record's id). Returns (key version, sealed bytes)."""
    version = vault_keys().active_version
    return version, seal(kek(version), plaintext, f"{associated}:{version}".encode())


def secret_open(sealed: bytes, *, version: int, associated: str) -> bytes:
    return open_sealed(kek(version), sealed, f"{associated}:{version}".encode())
