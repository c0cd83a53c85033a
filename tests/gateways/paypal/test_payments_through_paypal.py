"""Payments, refunds, failover and reconciliation end to end through a merchant's PayPal
account (the local PayPal sandbox over HTTP), driven through the merchant API."""

import datetime as dt

import pytest
from django.utils import timezone

from payments.models import Payment, Refund, Transaction
from payments.services.gateway_accounts import gateway_account_save
from payments.services.reconciliation import reconcile_day
from tests.conftest import create_payment
from tests.fakes.paypal_sandbox import CLIENT_ID, CLIENT_SECRET, INSTRUMENT_DECLINED

pytestmark = pytest.mark.django_db
CREDENTIALS = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}


@pytest.fixture
def on_paypal(merchant, paypal_url):
    return gateway_account_save(
        merchant=merchant,
        gateway="paypal",
        priority=1,
        credentials=CREDENTIALS,
        api_base=paypal_url,
    )


def _today() -> dt.date:
    return timezone.now().astimezone(dt.UTC).date()


def test_a_payment_is_charged_at_paypal_and_refunded_there(api_client, on_paypal, paypal_sandbox):
    response = create_payment(api_client, amount=2500)

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["gateway"]) == ("COMPLETED", "paypal")
    payment = Payment.objects.get(pk=body["id"])
    capture = paypal_sandbox.resources["captures"][payment.gateway_reference]
    assert capture["amount"] == {"currency_code": "USD", "value": "25.00"}

    refund = api_client.post(
        f"/api/v1/payments/{payment.id}/refunds",
        {"amount": 1000, "reason": "requested_by_customer"},
        format="json",
    )

    assert refund.status_code == 201, refund.content
    at_paypal = paypal_sandbox.resources["refunds"][Refund.objects.get().gateway_reference]
    assert at_paypal["amount"]["value"] == "10.00"
    assert Payment.objects.get(pk=payment.pk).amount_refunded == 1000


def test_manual_capture_of_part_of_an_authorization_at_paypal(
    api_client, on_paypal, paypal_sandbox
):
    authorized = create_payment(api_client, amount=5000, capture_method="manual").json()
    assert authorized["status"] == "AUTHORIZED"

    captured = api_client.post(
        f"/api/v1/payments/{authorized['id']}/capture", {"amount_to_capture": 3000}, format="json"
    )

    assert captured.status_code == 200, captured.content
    assert (captured.json()["status"], captured.json()["amount_captured"]) == ("COMPLETED", 3000)
    capture_id = Payment.objects.get(pk=authorized["id"]).gateway_reference
    assert paypal_sandbox.resources["captures"][capture_id]["amount"]["value"] == "30.00"


def test_a_paypal_decline_is_a_402_and_never_fails_over(
    merchant, api_client, on_paypal, gateway_calls
):
    gateway_account_save(merchant=merchant, gateway="sandbox", priority=2)

    response = create_payment(api_client, INSTRUMENT_DECLINED)

    assert response.status_code == 402
    assert Payment.objects.get().gateway == "paypal"
    assert gateway_calls.counts["authorize"] == 0  # the sandbox account was never asked


def test_an_unreachable_paypal_fails_over_to_the_next_account(merchant, api_client):
    gateway_account_save(
        merchant=merchant,
        gateway="paypal",
        priority=1,
        credentials=CREDENTIALS,
        api_base="http://127.0.0.1:9",  # discard port: connection refused
    )
    gateway_account_save(merchant=merchant, gateway="sandbox", priority=2)

    response = create_payment(api_client)

    assert response.status_code == 201
    payment = Payment.objects.get()
    assert (payment.gateway, payment.attempt_count) == ("sandbox", 2)
    assert Transaction.objects.filter(payment=payment, gateway="paypal", status="FAILED").exists()


def test_reconciliation_matches_our_paypal_ledger_with_paypals_records(api_client, on_paypal):
    paid = create_payment(api_client, amount=3100).json()["id"]
    api_client.post(
        f"/api/v1/payments/{paid}/refunds", {"amount": 100, "reason": "duplicate"}, format="json"
    )
    authorized = create_payment(api_client, amount=5000, capture_method="manual").json()["id"]
    api_client.post(
        f"/api/v1/payments/{authorized}/capture", {"amount_to_capture": 3000}, format="json"
    )
    create_payment(api_client, INSTRUMENT_DECLINED)
    create_payment(api_client, amount=700, capture_method="manual")  # authorized, never captured

    (run,) = reconcile_day(_today(), gateway="paypal")

    assert run.error == ""
    # The sandbox is this test's own: every difference would be real, and there is none.
    assert list(run.items.all()) == []
    assert (run.ledger_records, run.gateway_records, run.matched) == (3, 3, 3)


def test_reconciliation_fails_rather_than_reporting_what_paypal_has_not_listed_yet(
    api_client, on_paypal, paypal_sandbox
):
    paypal_sandbox.search_lag = dt.timedelta(hours=3)
    create_payment(api_client, amount=3100)

    (run,) = reconcile_day(_today(), gateway="paypal")

    assert run.error.startswith("gateway_timeout")
    assert list(run.items.all()) == []
