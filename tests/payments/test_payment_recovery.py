"""Recovery settles payments and refunds whose gateway answer was lost, by asking the
gateway; it never guesses, and it gives up to an operator on a schedule."""

import datetime as dt
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from audit.models import AuditLog
from payments.cards import card_input_validate
from payments.gateways.interface import GatewayTimeoutError, GatewayUnavailableError
from payments.gateways.sandbox import SandboxGateway
from payments.models import (
    Payment,
    PaymentStatus,
    RecoveryCheck,
    Refund,
    RefundStatus,
    SandboxOperation,
    Transaction,
)
from payments.services.payments import payment_capture, payment_create
from payments.services.recovery import SCHEDULE, recovery_run
from payments.services.refunds import refund_create
from payments.tasks import stalled_operations_recover_task
from tests.subprocesses import child_env

ROOT = Path(__file__).resolve().parents[2]

# Create a payment, and die by SIGKILL right after the gateway answered, before the second
# transaction could record the answer.
KILLED_MID_PAYMENT = """
import os, signal, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from payments.cards import card_input_validate
from payments.models import Merchant
from payments.services import payments

def killed(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

payments.update_where_then_insert = killed
payments.payment_create(
    merchant=Merchant.objects.get(slug=sys.argv[1]),
    amount=2500,
    currency="usd",
    card=card_input_validate(number="4242424242424242", exp_month=12, exp_year=2030, cvc="123"),
    idempotency_key="killed-mid-payment",
)
"""


def card(number: str = "4242424242424242"):
    return card_input_validate(number=number, exp_month=12, exp_year=2030, cvc="123")


def later(payment_or_refund, minutes: float) -> dt.datetime:
    return payment_or_refund.updated_at + dt.timedelta(minutes=minutes)


def answered_then_timed_out(monkeypatch, operation: str) -> None:
    """The gateway acts and records it, but its answer never reaches us."""
    original = getattr(SandboxGateway, operation)

    def lost_answer(self, *args, **kwargs):
        original(self, *args, **kwargs)
        raise GatewayTimeoutError("read timed out")

    monkeypatch.setattr(SandboxGateway, operation, lost_answer)


def never_reached(monkeypatch, operation: str) -> None:
    def timed_out(self, *args, **kwargs):
        raise GatewayTimeoutError("read timed out")

    monkeypatch.setattr(SandboxGateway, operation, timed_out)


@pytest.mark.django_db(transaction=True)
def test_a_payment_whose_process_was_killed_after_the_gateway_call_is_completed_by_recovery(
    merchant,
):
    child = subprocess.run(
        [sys.executable, "-c", KILLED_MID_PAYMENT, merchant.slug],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        timeout=60,
    )

    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    stuck = Payment.objects.get(idempotency_key="killed-mid-payment")
    assert (stuck.status, stuck.pending_operation) == (PaymentStatus.PROCESSING, "authorize")
    charged = SandboxOperation.objects.get(idempotency_key=f"{stuck.id}:authorize:1")
    assert not Transaction.objects.filter(payment=stuck).exists()

    assert recovery_run(now=later(stuck, 4)).settled == []  # not stalled long enough yet
    report = recovery_run(now=later(stuck, 6))

    assert report.settled == [stuck.id]
    payment = Payment.objects.get(pk=stuck.pk)
    assert (payment.status, payment.amount_captured) == (PaymentStatus.COMPLETED, 2500)
    assert payment.gateway_reference == charged.reference
    (ledger,) = Transaction.objects.filter(payment=payment)
    assert (ledger.kind, ledger.status, ledger.gateway_reference) == (
        "SALE",
        "SUCCEEDED",
        charged.reference,
    )
    assert AuditLog.objects.filter(resource_id=payment.id, action="payment.authorize").exists()
    check = RecoveryCheck.objects.get(resource_id=payment.id)
    assert (check.attempts, check.resolution) == (1, "settled:COMPLETED")
    assert recovery_run(now=later(stuck, 60 * 24)).settled == []  # done is done
    assert SandboxOperation.objects.filter(reference=charged.reference).count() == 1


def test_an_authorization_the_gateway_never_saw_fails_without_a_charge(merchant, monkeypatch):
    never_reached(monkeypatch, "authorize")
    stuck = payment_create(merchant=merchant, amount=1200, currency="eur", card=card())
    assert stuck.status == PaymentStatus.PROCESSING
    monkeypatch.undo()

    report = recovery_run(now=later(stuck, 6))

    assert report.never_happened == [stuck.id]
    payment = Payment.objects.get(pk=stuck.pk)
    assert (payment.status, payment.error_code) == (PaymentStatus.FAILED, "gateway_no_record")
    assert (
        payment.error_message == "The gateway has no record of this operation; nothing was charged."
    )


def test_a_capture_whose_answer_was_lost_is_settled_with_the_captured_amount(merchant, monkeypatch):
    authorized = payment_create(
        merchant=merchant, amount=5000, currency="usd", card=card(), capture_method="manual"
    )
    answered_then_timed_out(monkeypatch, "capture")
    stuck = payment_capture(merchant=merchant, payment_id=authorized.id, amount=3000)
    assert stuck.status == PaymentStatus.PROCESSING

    recovery_run(now=later(Payment.objects.get(pk=stuck.pk), 6))

    payment = Payment.objects.get(pk=stuck.pk)
    assert (payment.status, payment.amount_captured) == (PaymentStatus.COMPLETED, 3000)


def test_a_capture_the_gateway_never_saw_leaves_the_payment_authorized(merchant, monkeypatch):
    authorized = payment_create(
        merchant=merchant, amount=5000, currency="usd", card=card(), capture_method="manual"
    )
    never_reached(monkeypatch, "capture")
    payment_capture(merchant=merchant, payment_id=authorized.id)

    recovery_run(now=later(Payment.objects.get(pk=authorized.pk), 6))

    payment = Payment.objects.get(pk=authorized.pk)
    assert (payment.status, payment.amount_captured) == (PaymentStatus.AUTHORIZED, 0)
    assert payment.error_code == "gateway_no_record"


def test_a_refund_whose_answer_was_lost_is_completed(merchant, monkeypatch):
    paid = payment_create(merchant=merchant, amount=4000, currency="usd", card=card())
    answered_then_timed_out(monkeypatch, "refund")
    stuck = refund_create(payment_id=paid.id, reason="duplicate", amount=1500)
    assert stuck.status == RefundStatus.PROCESSING

    assert recovery_run(now=later(stuck, 6)).settled == [stuck.id]

    refund = Refund.objects.get(pk=stuck.pk)
    assert refund.status == RefundStatus.COMPLETED
    assert refund.gateway_reference.startswith("sbx_re_")
    assert Payment.objects.get(pk=paid.pk).amount_refunded == 1500


def test_a_refund_the_gateway_never_saw_fails_and_releases_its_amount(merchant, monkeypatch):
    paid = payment_create(merchant=merchant, amount=4000, currency="usd", card=card())
    never_reached(monkeypatch, "refund")
    stuck = refund_create(payment_id=paid.id, reason="duplicate", amount=1500)
    assert Payment.objects.get(pk=paid.pk).amount_refunded == 1500

    assert recovery_run(now=later(stuck, 6)).never_happened == [stuck.id]

    refund = Refund.objects.get(pk=stuck.pk)
    assert (refund.status, refund.error_code) == (RefundStatus.FAILED, "gateway_no_record")
    assert Payment.objects.get(pk=paid.pk).amount_refunded == 0


def test_an_unreachable_gateway_is_asked_again_on_schedule_then_an_operator_is_flagged(
    merchant, monkeypatch
):
    never_reached(monkeypatch, "authorize")
    stuck = payment_create(merchant=merchant, amount=1200, currency="eur", card=card())

    def unreachable(self, **kwargs):
        raise GatewayUnavailableError("connection refused")

    monkeypatch.setattr(SandboxGateway, "lookup", unreachable)

    asked_at = [stuck.updated_at + due for due in SCHEDULE]
    for attempt, due in enumerate(asked_at, start=1):
        assert recovery_run(now=due - dt.timedelta(seconds=1)).retry_later == []  # not due
        report = recovery_run(now=due)
        check = RecoveryCheck.objects.get(resource_id=stuck.id)
        assert check.attempts == attempt
        if attempt < len(SCHEDULE):
            assert report.retry_later == [stuck.id]
            assert check.next_attempt_at == asked_at[attempt]

    assert report.flagged == [stuck.id]
    assert check.flagged_at is not None
    assert Payment.objects.get(pk=stuck.pk).status == PaymentStatus.PROCESSING  # not guessed
    flagged = AuditLog.objects.get(action="payment.recovery_flagged", resource_id=stuck.id)
    assert flagged.result == "failure"
    assert vars(recovery_run(now=asked_at[-1] + dt.timedelta(days=30))) == {
        "settled": [],
        "never_happened": [],
        "retry_later": [],
        "flagged": [],
    }


def test_the_beat_schedule_runs_recovery_every_five_minutes(merchant, monkeypatch):
    entry = settings.CELERY_BEAT_SCHEDULE["recover-stalled-operations"]
    assert (entry["task"], entry["schedule"]) == (
        "payments.tasks.stalled_operations_recover_task",
        300,
    )
    assert stalled_operations_recover_task.apply().get() == {
        "settled": [],
        "never_happened": [],
        "retry_later": [],
        "flagged": [],
    }


def test_the_command_prints_what_it_did(merchant, monkeypatch, capsys):
    never_reached(monkeypatch, "authorize")
    stuck = payment_create(merchant=merchant, amount=1200, currency="eur", card=card())
    monkeypatch.undo()
    Payment.objects.filter(pk=stuck.pk).update(
        updated_at=stuck.updated_at - dt.timedelta(minutes=10)
    )

    call_command("recover_stalled_operations")

    assert f"never_happened: 1 {stuck.id}" in capsys.readouterr().out
