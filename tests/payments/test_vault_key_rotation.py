import base64
import io
import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from audit.models import AuditLog, AuditResult
from config.keys import VaultKeyMissing, secret_open, secret_seal, vault_keys
from payments import vault
from payments.audit_actions import AuditAction
from payments.models import GatewayAccount, PaymentMethod
from payments.services.vault_rotation import (
    vault_key_status,
    vault_key_usage,
    vault_keys_rotate,
)
from payments.vault import vault_card_reveal, vault_card_seal
from tests.concurrency import run_concurrently
from tests.payments.factories import MerchantFactory, PaymentMethodFactory

KEY_1 = base64.b64encode(b"1" * 32).decode()
KEY_2 = base64.b64encode(b"2" * 32).decode()
KEY_3 = base64.b64encode(b"3" * 32).decode()
FINGERPRINT_KEY = base64.b64encode(b"f" * 32).decode()


@pytest.fixture
def vault_settings(settings):
    """Cards get sealed under version 1; `vault_keys()` is cached, so clear it around the test."""
    use_keys(settings, f"1:{KEY_1}")
    settings.VAULT_FINGERPRINT_KEY = FINGERPRINT_KEY
    yield settings
    vault_keys.cache_clear()


def use_keys(settings, vault_keys_setting: str) -> None:
    vault_keys.cache_clear()
    settings.VAULT_KEYS = vault_keys_setting


def card_number(index: int) -> str:
    return f"4000000000{index:06d}"


def saved_cards(count: int, *, first: int = 0) -> dict[str, str]:
    """Vault `count` cards under the active key; returns payment method id → PAN."""
    merchant = MerchantFactory()
    numbers = {}
    for index in range(first, first + count):
        method = PaymentMethodFactory.build(merchant=merchant)
        vault_card_seal(method, number=card_number(index))
        method.save()
        numbers[method.pk] = card_number(index)
    return numbers


def stored(method_id: str) -> PaymentMethod:
    return PaymentMethod.objects.get(pk=method_id)


def run_command(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("rotate_vault_keys", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def rotation_audit_rows() -> list[AuditLog]:
    return list(
        AuditLog.objects.filter(action=AuditAction.VAULT_KEYS_ROTATED).order_by("timestamp")
    )


def fail_on_call(monkeypatch, call: int, exception: BaseException) -> None:
    """Make the `call`-th re-wrap raise `exception`, as a crash or Ctrl-C mid-batch would."""
    calls = 0
    original = vault.vault_key_rewrap

    def rewrap(method: PaymentMethod) -> None:
        nonlocal calls
        calls += 1
        if calls == call:
            raise exception
        original(method)

    monkeypatch.setattr("payments.services.vault_rotation.vault_key_rewrap", rewrap)


@pytest.mark.django_db
def test_rotation_rewraps_old_cards_under_the_newest_key_and_they_reveal_the_same_pan(
    vault_settings,
):
    numbers = saved_cards(5)
    before = {method_id: stored(method_id) for method_id in numbers}
    use_keys(vault_settings, f"1:{KEY_1},2:{KEY_2}")

    report = vault_keys_rotate(batch_size=2)

    assert (report.rotated, report.failed, report.batches) == (5, {}, 3)
    for method_id, number in numbers.items():
        after = stored(method_id)
        assert after.vault_key_version == 2
        assert bytes(after.vault_wrapped_key) != bytes(before[method_id].vault_wrapped_key)
        assert bytes(after.vault_ciphertext) == bytes(before[method_id].vault_ciphertext)
        assert after.card_fingerprint == before[method_id].card_fingerprint
        assert vault_card_reveal(after) == number


@pytest.mark.django_db
def test_a_second_run_finds_nothing_to_do(vault_settings):
    saved_cards(3)
    use_keys(vault_settings, f"1:{KEY_1},2:{KEY_2}")
    vault_keys_rotate()
    wrapped = {method.pk: bytes(method.vault_wrapped_key) for method in PaymentMethod.objects.all()}

    report = vault_keys_rotate()

    assert (report.rotated, report.failed, report.batches) == (0, {}, 0)
    assert {
        method.pk: bytes(method.vault_wrapped_key) for method in PaymentMethod.objects.all()
    } == wrapped
    assert len(rotation_audit_rows()) == 1


@pytest.mark.django_db
def test_after_rotation_the_old_key_can_be_removed_and_every_card_still_reveals(vault_settings):
    numbers = saved_cards(3)
    use_keys(vault_settings, f"1:{KEY_1},2:{KEY_2}")
    vault_keys_rotate()

    use_keys(vault_settings, f"2:{KEY_2}")

    for method_id, number in numbers.items():
        assert vault_card_reveal(stored(method_id)) == number


@pytest.mark.django_db
def test_cards_already_under_the_newest_key_are_left_alone(vault_settings):
    old = saved_cards(2)
    use_keys(vault_settings, f"1:{KEY_1},2:{KEY_2}")
    new = saved_cards(2, first=2)
    untouched = {method_id: bytes(stored(method_id).vault_wrapped_key) for method_id in new}

    report = vault_keys_rotate()

    assert report.rotated == len(old)
    assert {method_id: bytes(stored(method_id).vault_wrapped_key) for method_id in new} == (
        untouched
    )


@pytest.mark.django_db
def test_usage_counts_cards_per_key_version_and_ignores_cards_without_vault_data(
    vault_settings,
):
    saved_cards(2)
    use_keys(vault_settings, f"1:{KEY_1},2:{KEY_2}")
    saved_cards(3, first=2)
    PaymentMethodFactory()  # no vaulted card

    assert vault_key_usage() == {1: 2, 2: 3}
    vault_keys_rotate()
    assert vault_key_usage() == {2: 5}


@pytest.mark.django_db
def test_a_run_that_crashes_in_its_second_batch_keeps_the_first_and_the_next_run_finishes(
    vault_settings, monkeypatch
):
    numbers = saved_cards(5)
    use_keys(vault_settings, f"1:{KEY_1},2:{KEY_2}")
    fail_on_call(monkeypatch, 3, RuntimeError("crash"))

    with pytest.raises(RuntimeError):
        vault_keys_rotate(batch_size=2)

    assert vault_key_usage() == {1: 3, 2: 2}
    assert len(rotation_audit_rows()) == 1
    monkeypatch.undo()

    report = vault_keys_rotate(batch_size=2)

    assert report.rotated == 3
    assert vault_key_usage() == {2: 5}
    assert all(vault_card_reveal(stored(pk)) == number for pk, number in numbers.items())


@pytest.mark.django_db
def test_ctrl_c_during_the_command_keeps_finished_batches_and_says_to_run_again(
    vault_settings, monkeypatch
):
    saved_cards(4)
    use_keys(vault_settings, f"1:{KEY_1},2:{KEY_2}")
    fail_on_call(monkeypatch, 3, KeyboardInterrupt())

    with pytest.raises(CommandError, match="run the command again to continue"):
        run_command("--batch-size=2")

    assert vault_key_usage() == {1: 2, 2: 2}
    monkeypatch.undo()
    out, _ = run_command("--batch-size=2")
    assert "Re-wrapped 2 card(s) under key version 2" in out
    assert vault_key_usage() == {2: 4}


@pytest.mark.django_db
def test_a_card_whose_key_version_is_missing_is_reported_and_the_run_goes_on(vault_settings):
    lost = saved_cards(2)
    use_keys(vault_settings, f"1:{KEY_1},2:{KEY_2}")
    numbers = saved_cards(3, first=2)
    use_keys(vault_settings, f"2:{KEY_2},3:{KEY_3}")

    report = vault_keys_rotate(batch_size=2)

    assert report.rotated == 3
    assert report.failed == dict.fromkeys(lost, "key version 1 is not in VAULT_KEYS")
    assert vault_key_usage() == {1: 2, 3: 3}
    assert all(vault_card_reveal(stored(pk)) == number for pk, number in numbers.items())
    assert vault_key_status().missing == [1]


def test_revealing_a_card_under_a_retired_version_names_the_missing_version(vault_settings):
    method = PaymentMethod()
    vault_card_seal(method, number=card_number(0))
    use_keys(vault_settings, f"2:{KEY_2}")

    with pytest.raises(VaultKeyMissing) as missing:
        vault_card_reveal(method)

    assert missing.value.args == (1,)
    assert isinstance(missing.value, KeyError)


@pytest.mark.django_db
def test_a_card_whose_wrapped_key_does_not_open_is_reported_as_failed(vault_settings):
    numbers = saved_cards(3)
    broken_id = next(iter(numbers))
    broken = stored(broken_id)
    broken.vault_wrapped_key = bytes(broken.vault_wrapped_key)[:-1] + b"\x00"
    broken.save(update_fields=["vault_wrapped_key"])
    use_keys(vault_settings, f"1:{KEY_1},2:{KEY_2}")

    report = vault_keys_rotate()

    assert report.rotated == 2
    assert report.failed == {broken_id: "data key does not unwrap under key version 1"}
    assert stored(broken_id).vault_key_version == 1


@pytest.mark.django_db
def test_each_batch_writes_one_audit_row_with_its_counts(vault_settings):
    lost = saved_cards(1)
    use_keys(vault_settings, f"1:{KEY_1},2:{KEY_2}")
    saved_cards(1, first=1)
    use_keys(vault_settings, f"2:{KEY_2},3:{KEY_3}")
    saved_cards(1, first=2)

    with pytest.raises(CommandError, match="1 record"):
        run_command("--batch-size=1")

    rows = rotation_audit_rows()
    assert len(rows) == 2
    assert all(row.user_id.startswith("cli:") and row.resource_id == "3" for row in rows)
    failed_row = next(row for row in rows if row.new_value["failed"])
    rotated_row = next(row for row in rows if not row.new_value["failed"])
    assert failed_row.result == AuditResult.FAILURE
    assert failed_row.old_value == {"key_versions": {"1": 1}}
    assert failed_row.new_value["failed"] == {
        next(iter(lost)): "key version 1 is not in VAULT_KEYS"
    }
    assert failed_row.new_value["rotated"] == 0
    assert rotated_row.result == AuditResult.SUCCESS
    assert rotated_row.old_value == {"key_versions": {"2": 1}}
    assert rotated_row.new_value["rotated"] == 1
    assert rotated_row.new_value["key_version"] == 3


@pytest.mark.django_db
def test_dry_run_reports_counts_and_changes_nothing(vault_settings):
    saved_cards(3)
    use_keys(vault_settings, f"1:{KEY_1},2:{KEY_2}")
    saved_cards(1, first=3)

    out, _ = run_command("--dry-run")

    assert "Would re-wrap 3 card(s) under key version 2 (v1: 3)." in out
    assert vault_key_usage() == {1: 3, 2: 1}
    assert rotation_audit_rows() == []


@pytest.mark.django_db
def test_status_shows_usage_and_only_versions_nothing_is_sealed_under_are_retirable(
    vault_settings,
):
    saved_cards(2)
    use_keys(vault_settings, f"1:{KEY_1},2:{KEY_2}")
    account = GatewayAccount(merchant=MerchantFactory(), gateway="stripe")
    account.credentials_key_version, account.credentials_sealed = secret_seal(
        b"{}", associated=account.id
    )
    account.save()
    use_keys(vault_settings, f"1:{KEY_1},2:{KEY_2},3:{KEY_3}")
    saved_cards(1, first=2)

    before, _ = run_command("--status")
    run_command()
    after, _ = run_command("--status")

    assert before.splitlines() == [
        "Active key version: v3 (VAULT_KEYS holds v1, v2, v3)",
        "Cards per key version: v1: 2, v3: 1",
        "Sealed secrets per key version: v2: 1",
        "Safe to retire: none",
    ]
    assert after.splitlines() == [
        "Active key version: v3 (VAULT_KEYS holds v1, v2, v3)",
        "Cards per key version: v3: 3",
        "Sealed secrets per key version: v3: 1",  # re-sealed by the same run
        "Safe to retire: v1, v2",
    ]
    account.refresh_from_db()
    assert secret_open(bytes(account.credentials_sealed), version=3, associated=account.id) == b"{}"


@pytest.mark.django_db
def test_status_warns_about_versions_in_use_but_missing_from_vault_keys(vault_settings):
    saved_cards(1)
    use_keys(vault_settings, f"2:{KEY_2}")

    out, _ = run_command("--status")

    assert "Missing from VAULT_KEYS (what is sealed under them cannot be read): v1" in out


@pytest.mark.django_db
def test_command_shows_progress_and_final_counts_but_never_a_pan(vault_settings):
    numbers = saved_cards(5)
    use_keys(vault_settings, f"1:{KEY_1},2:{KEY_2}")

    out, err = run_command("--batch-size=2")

    assert err.split("\r")[1:] == [
        "Re-wrapping card keys: 0/5 (0%)",
        "Re-wrapping card keys: 2/5 (40%)",
        "Re-wrapping card keys: 4/5 (80%)",
        "Re-wrapping card keys: 5/5 (100%)\n",
    ]
    assert out.splitlines() == [
        "Re-wrapped 5 card(s) under key version 2 in 3 batch(es).",
        "Remaining under older versions: none",
        "Safe to retire: v1",
    ]
    for number in numbers.values():
        assert number not in out + err
        assert number[-4:] not in out + err


@pytest.mark.django_db
def test_command_with_nothing_to_do_says_so(vault_settings):
    saved_cards(1)

    out, err = run_command()

    assert out == "Nothing to re-wrap: every card is under key version 1.\n"
    assert err == ""


def test_batch_size_must_be_positive():
    with pytest.raises(CommandError, match="at least 1"):
        run_command("--batch-size=0")


@pytest.mark.django_db(transaction=True)
def test_a_card_locked_by_another_transaction_is_skipped_and_rotated_by_the_next_run(
    vault_settings,
):
    numbers = saved_cards(3)
    locked_id = sorted(numbers)[1]
    use_keys(vault_settings, f"1:{KEY_1},2:{KEY_2}")
    locked, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        try:
            with transaction.atomic():
                PaymentMethod.objects.select_for_update().get(pk=locked_id)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert locked.wait(timeout=30)
        report = vault_keys_rotate(batch_size=1)
    finally:
        release.set()
        holder.join(timeout=30)

    assert (report.rotated, report.failed) == (2, {})
    assert stored(locked_id).vault_key_version == 1
    assert vault_keys_rotate().rotated == 1
    assert vault_key_usage() == {2: 3}


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_share_the_work_without_rewrapping_a_card_twice(vault_settings):
    numbers = saved_cards(12)
    use_keys(vault_settings, f"1:{KEY_1},2:{KEY_2}")

    reports = run_concurrently(3, lambda: vault_keys_rotate(batch_size=2))

    assert sum(report.rotated for report in reports) == 12
    assert all(not report.failed for report in reports)
    assert vault_key_usage() == {2: 12}
    assert sum(row.new_value["rotated"] for row in rotation_audit_rows()) == 12
    assert all(vault_card_reveal(stored(pk)) == number for pk, number in numbers.items())


@pytest.mark.django_db
def test_webhook_signing_secrets_are_resealed_and_still_sign(vault_settings, settings):
    from django.utils import timezone

    from webhooks.outbound.endpoints import endpoint_create, endpoint_secret_roll, signing_secrets

    settings.WEBHOOK_ALLOW_LOOPBACK = True
    created = endpoint_create(
        merchant_id="mer_rotation",
        livemode=False,
        url="http://127.0.0.1:9/hooks",
        enabled_events=["*"],
    )
    first = created.secret
    rolled = endpoint_secret_roll(
        merchant_id="mer_rotation", livemode=False, endpoint_id=created.endpoint.id
    )
    use_keys(vault_settings, f"1:{KEY_1},2:{KEY_2}")

    out, _ = run_command()

    endpoint = type(created.endpoint).objects.get(pk=created.endpoint.id)
    assert (endpoint.secret_key_version, endpoint.previous_secret_key_version) == (2, 2)
    assert signing_secrets(endpoint, now=timezone.now()) == [rolled.secret, first]
    assert "Re-sealed 2 secret(s)" in out
    assert "Safe to retire: v1" in out
