"""The card vault: AES-256-GCM envelope encryption with versioned keys.

Each card gets its own random data key; the PAN is encrypted with it and the data key is
wrapped by the active key-encryption key (KEK) from `VAULT_KEYS`. Rotation re-wraps data keys
under a newer KEK version. A keyed HMAC-SHA256 fingerprint lets us match cards without
decrypting them. Both AES-GCM calls bind the payment method id (and key version) as
associated data, so a ciphertext cannot be swapped onto another record.
"""

import hashlib
import hmac

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from config.keys import kek, open_sealed, seal, vault_keys
from payments.models import PaymentMethod


def card_fingerprint(number: str) -> str:
    return hmac.new(vault_keys().fingerprint_key, number.encode(), hashlib.sha256).hexdigest()


def _wrap_associated(method: PaymentMethod, version: int) -> bytes:
    # Binding the version too means a wrapped key relabelled with another version fails.
    return f"{method.id}:{version}".encode()


def _data_key_wrap(method: PaymentMethod, data_key: bytes) -> None:
    version = vault_keys().active_version
    method.vault_key_version = version
    method.vault_wrapped_key = seal(kek(version), data_key, _wrap_associated(method, version))


def _data_key_unwrap(method: PaymentMethod) -> bytes:
    version = method.vault_key_version
    return open_sealed(
        kek(version), bytes(method.vault_wrapped_key), _wrap_associated(method, version)
    )


def vault_card_seal(method: PaymentMethod, *, number: str) -> None:
    """Encrypt `number` into `method`'s vault columns and set its fingerprint (unsaved; the
    caller saves it in its transaction)."""
    data_key = AESGCM.generate_key(bit_length=256)
    method.vault_ciphertext = seal(data_key, number.encode(), method.id.encode())
    _data_key_wrap(method, data_key)
    method.card_fingerprint = card_fingerprint(number)


def vault_card_reveal(method: PaymentMethod) -> str:
    """Decrypt a PAN for the one gateway call that needs it. Never store or log the result."""
    return open_sealed(
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
