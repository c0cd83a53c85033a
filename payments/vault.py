"""The card vault: AES-256-GCM envelope encryption with versioned keys.

Each card gets its own random data key; the PAN is encrypted with it and the data key is
wrapped by the active key-encryption key (KEK) from `VAULT_KEYS`. Rotation re-wraps data keys
under a newer KEK version. A keyed HMAC-SHA256 fingerprint lets us match cards without
decrypting them. Both AES-GCM calls bind the payment method id (and key version) as
associated data, so a ciphertext cannot be swapped onto another record.
"""

import base64
import functools
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from payments.models import PaymentMethod

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


def card_fingerprint(number: str) -> str:
    return hmac.new(vault_keys().fingerprint_key, number.encode(), hashlib.sha256).hexdigest()


def _seal(key: bytes, plaintext: bytes, associated: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, associated)


def _open(key: bytes, sealed: bytes, associated: bytes) -> bytes:
    return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated)


class VaultKeyMissing(KeyError):
    """A sealed value names a key version that `VAULT_KEYS` does not (or no longer) hold. A
    KeyError, as a plain dict lookup raised before this had a name."""


def _kek(version: int) -> bytes:
    try:
        return vault_keys().keks[version]
    except KeyError:
        raise VaultKeyMissing(version) from None


def _wrap_associated(method: PaymentMethod, version: int) -> bytes:
    # Binding the version too means a wrapped key relabelled with another version fails.
    return f"{method.id}:{version}".encode()


def _data_key_wrap(method: PaymentMethod, data_key: bytes) -> None:
    version = vault_keys().active_version
    method.vault_key_version = version
    method.vault_wrapped_key = _seal(_kek(version), data_key, _wrap_associated(method, version))


def _data_key_unwrap(method: PaymentMethod) -> bytes:
    version = method.vault_key_version
    return _open(_kek(version), bytes(method.vault_wrapped_key), _wrap_associated(method, version))


def vault_card_seal(method: PaymentMethod, *, number: str) -> None:
    """Encrypt `number` into `method`'s vault columns and set its fingerprint (unsaved; the
    caller saves it in its transaction)."""
    data_key = AESGCM.generate_key(bit_length=256)
    method.vault_ciphertext = _seal(data_key, number.encode(), method.id.encode())
    _data_key_wrap(method, data_key)
    method.card_fingerprint = card_fingerprint(number)


def vault_card_reveal(method: PaymentMethod) -> str:
    """Decrypt a PAN for the one gateway call that needs it. Never store or log the result."""
    return _open(
        _data_key_unwrap(method), bytes(method.vault_ciphertext), method.id.encode()
    ).decode()


def vault_key_rewrap(method: PaymentMethod) -> None:
    """Re-wrap `method`'s data key under the active KEK (unsaved: the caller saves
    `vault_key_version` and `vault_wrapped_key` in its transaction). The PAN ciphertext is not
    touched and the PAN is never decrypted: only the key that unlocks it changes.

    Raises VaultKeyMissing when its version is not in `VAULT_KEYS`, InvalidTag when the key
    under that version is not the one that wrapped it (or the wrapped key was tampered with);
    `method` is unchanged then."""
    _data_key_wrap(method, _data_key_unwrap(method))


def vault_secret_seal(plaintext: bytes, *, associated: str) -> tuple[int, bytes]:
    """Seal a small secret (a gateway account's credentials) directly under the active KEK,
    bound to `associated` (the owning record's id). Returns (key version, sealed bytes)."""
    keys = vault_keys()
    version = keys.active_version
    return version, _seal(keys.keks[version], plaintext, f"{associated}:{version}".encode())


def vault_secret_open(sealed: bytes, *, version: int, associated: str) -> bytes:
    return _open(_kek(version), sealed, f"{associated}:{version}".encode())
