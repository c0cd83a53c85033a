import base64
import hashlib

import pytest
from cryptography.exceptions import InvalidTag

from payments.models import PaymentMethod
from payments.vault import card_fingerprint, vault_card_reveal, vault_card_seal, vault_keys
from tests.conftest import create_payment

KEY_1 = base64.b64encode(b"1" * 32).decode()
KEY_2 = base64.b64encode(b"2" * 32).decode()
FINGERPRINT_KEY = base64.b64encode(b"f" * 32).decode()


@pytest.fixture
def vault_settings(settings):
    """Point the vault at known keys; `vault_keys()` is cached, so clear it around the test."""
    vault_keys.cache_clear()
    settings.VAULT_KEYS = f"1:{KEY_1}"
    settings.VAULT_FINGERPRINT_KEY = FINGERPRINT_KEY
    yield settings
    vault_keys.cache_clear()


def use_keys(settings, vault_keys_setting):
    vault_keys.cache_clear()
    settings.VAULT_KEYS = vault_keys_setting


def sealed(number: str) -> PaymentMethod:
    method = PaymentMethod()
    vault_card_seal(method, number=number)
    return method


def flip_last_byte(data) -> bytes:
    data = bytes(data)
    return data[:-1] + bytes([data[-1] ^ 1])


def test_sealed_card_reveals_its_number():
    assert vault_card_reveal(sealed("4242424242424242")) == "4242424242424242"


def test_ciphertext_does_not_contain_the_number_and_differs_per_record():
    first = sealed("4242424242424242")
    second = sealed("4242424242424242")

    assert b"4242424242424242" not in bytes(first.vault_ciphertext)
    assert b"4242424242424242" not in bytes(first.vault_wrapped_key)
    assert first.vault_ciphertext != second.vault_ciphertext
    assert first.vault_wrapped_key != second.vault_wrapped_key


def test_fingerprint_is_stable_for_a_number_and_differs_across_numbers():
    first = sealed("4242424242424242")
    second = sealed("4242424242424242")
    other = sealed("5555555555554444")

    assert first.card_fingerprint == second.card_fingerprint
    assert first.card_fingerprint == card_fingerprint("4242424242424242")
    assert other.card_fingerprint != first.card_fingerprint
    assert len(first.card_fingerprint) == 64


def test_fingerprint_is_keyed_not_a_plain_hash(vault_settings):
    with_first_key = card_fingerprint("4242424242424242")
    vault_keys.cache_clear()
    vault_settings.VAULT_FINGERPRINT_KEY = base64.b64encode(b"g" * 32).decode()

    assert with_first_key != hashlib.sha256(b"4242424242424242").hexdigest()
    assert card_fingerprint("4242424242424242") != with_first_key


def test_tampered_ciphertext_fails_to_decrypt():
    method = sealed("4242424242424242")
    method.vault_ciphertext = flip_last_byte(method.vault_ciphertext)

    with pytest.raises(InvalidTag):
        vault_card_reveal(method)


def test_tampered_wrapped_key_fails_to_decrypt():
    method = sealed("4242424242424242")
    method.vault_wrapped_key = flip_last_byte(method.vault_wrapped_key)

    with pytest.raises(InvalidTag):
        vault_card_reveal(method)


def test_ciphertext_copied_onto_another_record_fails_to_decrypt():
    victim = sealed("4242424242424242")
    attacker = sealed("5555555555554444")
    attacker.vault_ciphertext = victim.vault_ciphertext
    attacker.vault_wrapped_key = victim.vault_wrapped_key

    with pytest.raises(InvalidTag):
        vault_card_reveal(attacker)


def test_newest_key_version_encrypts_and_older_versions_still_decrypt(vault_settings):
    old_card = sealed("4242424242424242")
    assert old_card.vault_key_version == 1

    use_keys(vault_settings, f"1:{KEY_1},2:{KEY_2}")
    new_card = sealed("5555555555554444")

    assert new_card.vault_key_version == 2
    assert vault_card_reveal(new_card) == "5555555555554444"
    assert vault_card_reveal(old_card) == "4242424242424242"


def test_key_versions_are_ordered_numerically_not_by_position(vault_settings):
    use_keys(vault_settings, f"10:{KEY_2},9:{KEY_1}")

    assert sealed("4242424242424242").vault_key_version == 10


def test_a_card_cannot_be_read_with_a_different_key_under_its_version(vault_settings):
    method = sealed("4242424242424242")
    use_keys(vault_settings, f"1:{KEY_2}")

    with pytest.raises(InvalidTag):
        vault_card_reveal(method)


def test_saved_card_decrypts_after_a_database_round_trip(api_client):
    body = create_payment(api_client, "378282246310005").json()

    stored = PaymentMethod.objects.get(pk=body["payment_method"]["id"])

    assert vault_card_reveal(stored) == "378282246310005"
    assert (stored.card_brand, stored.card_bin, stored.card_last4) == ("amex", "378282", "0005")
    assert stored.card_fingerprint == card_fingerprint("378282246310005")
    assert body["payment_method"]["card"]["fingerprint"] == stored.card_fingerprint
