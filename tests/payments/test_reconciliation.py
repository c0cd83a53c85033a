"""Daily reconciliation against the sandbox's books: matches, every kind of difference, the
midnight margin, operators resolving exceptions, and the runbook script."""

import datetime as dt
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from audit.models import AuditLog
from payments.errors import InvalidRequest, StateConflict
from payments.gateways.interface import AuthorizeRequest, GatewayCard, GatewayUnavailableError
from payments.gateways.sandbox import SandboxGateway
from payments.models import ReconciliationException, SandboxOperation
from payments.services.payments import payment_capture, payment_create
from payments.services.reconciliation import reconcile_day, reconciliation_exception_resolve
from payments.services.refunds import refund_create
from tests.payments.test_payment_recovery import card
from tests.subprocesses import child_env

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def today() -> dt.date:
    return timezone.now().astimezone(dt.UTC).date()


def kinds(run) -> list[tuple[str, str]]:
    return sorted(run.items.values_list("kind", "record_kind"))


@pytest.fixture
def a_day_of_business(merchant):
    sale = payment_create(merchant=merchant, amount=4000, currency="usd", card=card())
    held = payment_create(
        merchant=merchant, amount=9000, currency="eur", card=card(), capture_method="manual"
    )
    captured = payment_capture(merchant=merchant, payment_id=held.id, amount=7000)
    refund = refund_create(payment_id=sale.id, reason="requested_by_customer", amount=1500)
    payment_create(merchant=merchant, amount=500, currency="usd", card=card("4000000000000002"))
    return sale, captured, refund


def test_a_day_where_both_books_agree_has_no_exceptions(a_day_of_business):
    (run,) = reconcile_day(today())

    assert (run.gateway, run.error, run.exceptions) == ("sandbox", "", 0)
    assert (run.matched, run.ledger_records, run.gateway_records) == (3, 3, 3)
    assert run.finished_at is not None
    assert AuditLog.objects.filter(action="reconciliation.run", resource_id=str(run.id)).exists()


def test_a_charge_only_the_gateway_knows_is_missing_in_our_ledger(a_day_of_business):
    SandboxGateway().authorize(
        AuthorizeRequest(
            payment_id="pay_ghost",
            amount=777,
            currency="USD",
            card=GatewayCard("4242424242424242", 12, 2030),
            capture=True,
            idempotency_key="pay_ghost:authorize:1",
        )
    )

    (run,) = reconcile_day(today())

    (item,) = run.items.all()
    assert (item.kind, item.gateway_amount, item.payment_id) == ("missing_in_ledger", 777, None)


def test_a_movement_the_gateway_does_not_have_is_missing_at_the_gateway(a_day_of_business):
    sale, _, refund = a_day_of_business
    SandboxOperation.objects.filter(result__reference=refund.gateway_reference).delete()

    (run,) = reconcile_day(today())

    (item,) = run.items.all()
    assert (item.kind, item.reference, item.ledger_amount) == (
        "missing_at_gateway",
        refund.gateway_reference,
        1500,
    )
    assert item.payment_id == sale.id


def test_amount_and_currency_differences_are_reported(a_day_of_business):
    sale, captured, _ = a_day_of_business
    SandboxOperation.objects.filter(reference=sale.gateway_reference, operation="sale").update(
        amount=4001
    )
    SandboxOperation.objects.filter(
        reference=captured.gateway_reference, operation="capture"
    ).update(currency="GBP")

    (run,) = reconcile_day(today())

    assert kinds(run) == [("amount_mismatch", "charge"), ("currency_mismatch", "charge")]
    mismatch = run.items.get(kind="amount_mismatch")
    assert (mismatch.ledger_amount, mismatch.gateway_amount) == (4000, 4001)


def test_a_charge_on_either_side_of_midnight_is_not_reported_missing(a_day_of_business):
    sale, _, _ = a_day_of_business
    midnight = dt.datetime.combine(today(), dt.time.min, tzinfo=dt.UTC)
    SandboxOperation.objects.filter(reference=sale.gateway_reference, operation="sale").update(
        created_at=midnight - dt.timedelta(seconds=30)
    )

    (yesterday_run,) = reconcile_day(today() - dt.timedelta(days=1))
    (today_run,) = reconcile_day(today())

    assert yesterday_run.exceptions == today_run.exceptions == 0


def test_an_unreachable_gateway_fails_the_run_without_exceptions(a_day_of_business, monkeypatch):
    def unreachable(self, **kwargs):
        raise GatewayUnavailableError("connection refused")

    monkeypatch.setattr(SandboxGateway, "settlement_records", unreachable)

    (run,) = reconcile_day(today())

    assert run.error.startswith("gateway_unavailable")
    assert not ReconciliationException.objects.exists()


def test_an_operator_resolves_an_exception_with_a_note_once(a_day_of_business):
    _, _, refund = a_day_of_business
    SandboxOperation.objects.filter(result__reference=refund.gateway_reference).delete()
    (run,) = reconcile_day(today())
    item = run.items.get()

    with pytest.raises(InvalidRequest):
        reconciliation_exception_resolve(exception_id=item.id, note="  ", operator="alice")
    resolved = reconciliation_exception_resolve(
        exception_id=item.id, note="Refund re-sent manually, INC-7", operator="alice"
    )

    assert (resolved.resolved_by, resolved.resolution_note) == (
        "alice",
        "Refund re-sent manually, INC-7",
    )
    assert AuditLog.objects.filter(
        action="reconciliation.exception_resolved", resource_id=str(item.id)
    ).exists()
    with pytest.raises(StateConflict):
        reconciliation_exception_resolve(exception_id=item.id, note="again", operator="bob")


def test_each_run_is_kept(a_day_of_business):
    first = reconcile_day(today())[0]
    second = reconcile_day(today())[0]

    assert first.id != second.id
    assert first.items.count() == second.items.count() == 0


def test_the_command_reports_each_gateway_and_fails_when_one_could_not_be_reconciled(
    a_day_of_business, capsys, monkeypatch
):
    call_command("reconcile", "--date", today().isoformat())
    assert f"OK   sandbox all merchants test {today()}: 3 matched, 0 exceptions" in (
        capsys.readouterr().out
    )

    def unreachable(self, **kwargs):
        raise GatewayUnavailableError("down")

    monkeypatch.setattr(SandboxGateway, "settlement_records", unreachable)
    with pytest.raises(CommandError, match="could not be reconciled"):
        call_command("reconcile", "--date", today().isoformat())
    with pytest.raises(CommandError, match="--date"):
        call_command("reconcile", "--date", "yesterday")


def test_reconciliation_runs_daily_from_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["daily-reconciliation"]

    assert entry["task"] == "payments.tasks.daily_reconciliation_task"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({4}, {0})


@pytest.mark.django_db(transaction=True)
def test_the_runbook_script_reconciles_a_day(a_day_of_business):
    result = subprocess.run(
        [str(ROOT / "scripts" / "daily-reconciliation.sh"), f"--date={today()}"],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert "3 matched, 0 exceptions" in result.stdout
