"""Payments, refunds, failover, recovery and reconciliation end to end through a merchant's
Stripe account (localstripe over HTTP), driven through the merchant API."""

import datetime as dt

import pytest
from django.utils import timezone

from payments.gateways.stripe_gateway import StripeGateway
from payments.models import Payment, Refund, Transaction
from payments.services.gateway_accounts import gateway_account_save
from payments.services.reconciliation import reconcile_day
from payments.services.recovery import recovery_run
from tests.conftest import create_payment

pytestmark = pytest.mark.django_db
API_KEY = "sk_test_paydesk_e2e"


@pytest.fixture
def on_stripe(merchant, localstripe_url):
    return gateway_account_save(
        merchant=merchant,
        gateway="stripe",
        priority=1,
        credentials={"api_key": API_KEY},
        api_base=localstripe_url,
    )


def test_a_payment_is_charged_at_stripe_and_refunded_there(api_client, on_stripe):
    response = create_payment(api_client, amount=2500)

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["gateway"]) == ("COMPLETED", "stripe")
    payment = Payment.objects.get(pk=body["id"])
    assert payment.gateway_reference.startswith("pi_")

    refund = api_client.post(
        f"/api/v1/payments/{payment.id}/refunds",
        {"amount": 1000, "reason": "requested_by_customer"},
        format="json",
    )

    assert refund.status_code == 201, refund.content
    assert Refund.objects.get().gateway_reference.startswith("re_")
    assert Payment.objects.get(pk=payment.pk).amount_refunded == 1000


def test_manual_capture_of_part_of_an_authorization_at_stripe(api_client, on_stripe):
    authorized = create_payment(api_client, amount=5000, capture_method="manual").json()
    assert authorized["status"] == "AUTHORIZED"

    captured = api_client.post(
        f"/api/v1/payments/{authorized['id']}/capture", {"amount_to_capture": 3000}, format="json"
    )

    assert captured.status_code == 200, captured.content
    assert (captured.json()["status"], captured.json()["amount_captured"]) == ("COMPLETED", 3000)


def test_a_stripe_decline_is_a_402_and_never_fails_over(merchant, api_client, on_stripe):
    gateway_account_save(merchant=merchant, gateway="sandbox", priority=2)

    response = create_payment(api_client, "4000000000000341")

    assert response.status_code == 402
    assert Payment.objects.get().gateway == "stripe"


def test_an_unreachable_stripe_fails_over_to_the_next_account(merchant, api_client):
    gateway_account_save(
        merchant=merchant,
        gateway="stripe",
        priority=1,
        credentials={"api_key": API_KEY},
        api_base="http://127.0.0.1:9",  # discard port: connection refused
    )
    gateway_account_save(merchant=merchant, gateway="sandbox", priority=2)

    response = create_payment(api_client)

    assert response.status_code == 201
    payment = Payment.objects.get()
    assert (payment.gateway, payment.attempt_count) == ("sandbox", 2)
    assert Transaction.objects.filter(payment=payment, gateway="stripe", status="FAILED").exists()


def test_recovery_finds_a_stripe_charge_whose_answer_was_lost(api_client, on_stripe, monkeypatch):
    from payments.gateways.interface import GatewayTimeoutError

    original = StripeGateway.authorize

    def lost_answer(self, request):
        original(self, request)
        raise GatewayTimeoutError("read timed out")

    monkeypatch.setattr(StripeGateway, "authorize", lost_answer)
    stuck = Payment.objects.get(pk=create_payment(api_client, amount=4200).json()["id"])
    assert stuck.status == "PROCESSING"
    monkeypatch.undo()

    report = recovery_run(now=stuck.updated_at + dt.timedelta(minutes=6))

    assert report.settled == [stuck.id]
    payment = Payment.objects.get(pk=stuck.pk)
    assert (payment.status, payment.amount_captured) == ("COMPLETED", 4200)
    assert payment.gateway_reference.startswith("pi_")


def test_reconciliation_matches_our_stripe_ledger_with_stripes_records(api_client, on_stripe):
    paid = create_payment(api_client, amount=3100).json()["id"]
    api_client.post(
        f"/api/v1/payments/{paid}/refunds", {"amount": 100, "reason": "duplicate"}, format="json"
    )

    runs = reconcile_day(timezone.now().astimezone(dt.UTC).date(), gateway="stripe")

    (run,) = runs
    assert run.error == ""
    ours = {paid, *Refund.objects.values_list("gateway_reference", flat=True)}
    ledger_side = run.items.exclude(kind="missing_in_ledger")
    assert list(ledger_side) == []  # everything we booked is at Stripe, same amounts
    # localstripe is shared by the whole test session: other tests' charges are at "Stripe"
    # but not in this test's ledger; they are the only differences.
    assert not run.items.filter(payment_id__in=ours).exists()
