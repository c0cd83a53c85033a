"""Refunds through the merchant API: amounts, reasons, failures, idempotency and the race
that must never refund more than was captured."""

import datetime as dt

import pytest
from django.utils import timezone

from audit.models import AuditLog
from payments.gateways.interface import GatewayTimeoutError, GatewayUnavailableError
from payments.gateways.sandbox import SandboxGateway
from payments.models import (
    IdempotencyKey,
    Payment,
    Refund,
    RefundStatus,
    Transaction,
    TransactionKind,
)
from payments.services.api_keys import api_key_issue
from tests.concurrency import run_concurrently
from tests.conftest import client_for, create_payment
from webhooks.models import OutboxEvent

REFUND_FAILS_CARD = "4000000000005126"


def refunds_url(payment_id: str) -> str:
    return f"/api/v1/payments/{payment_id}/refunds"


def refund(client, payment_id: str, **body):
    return client.post(
        refunds_url(payment_id), {"reason": "requested_by_customer", **body}, format="json"
    )


@pytest.fixture
def paid(api_client) -> str:
    response = create_payment(api_client, amount=10000)
    assert response.json()["status"] == "COMPLETED"
    return response.json()["id"]


def test_refund_without_amount_refunds_everything_and_records_it(api_client, paid, gateway_calls):
    response = refund(api_client, paid)

    assert response.status_code == 201
    body = response.json()
    assert body["id"].startswith("re_")
    assert (body["object"], body["status"], body["amount"], body["currency"]) == (
        "refund",
        "COMPLETED",
        10000,
        "USD",
    )
    assert body["payment"] == paid
    payment = Payment.objects.get(pk=paid)
    assert (payment.status, payment.amount_refunded) == ("COMPLETED", 10000)
    assert api_client.get(f"/api/v1/payments/{paid}").json()["amount_refunded"] == 10000
    ledger = Transaction.objects.get(payment_id=paid, kind=TransactionKind.REFUND)
    assert (ledger.status, ledger.amount) == ("SUCCEEDED", 10000)
    assert ledger.gateway_reference == Refund.objects.get().gateway_reference != ""
    assert sorted(
        AuditLog.objects.filter(resource_id=body["id"]).values_list("action", "result")
    ) == [("refund.created", "success"), ("refund.settled", "success")]
    assert OutboxEvent.objects.filter(type="refund.completed", data__id=body["id"]).exists()
    assert gateway_calls.counts["refund"] == 1
    assert gateway_calls.inside_transaction == []


def test_partial_refunds_add_up_to_the_captured_amount_and_no_further(api_client, paid):
    assert refund(api_client, paid, amount=6000).status_code == 201
    assert refund(api_client, paid, amount=4000).status_code == 201

    again = refund(api_client, paid, amount=1)

    assert again.status_code == 400
    assert again.json()["error"]["code"] == "charge_already_refunded"
    assert Payment.objects.get(pk=paid).amount_refunded == 10000


def test_a_refund_above_what_is_left_is_refused_and_changes_nothing(
    api_client, paid, gateway_calls
):
    refund(api_client, paid, amount=7000)

    response = refund(api_client, paid, amount=3001)

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "amount_too_large",
        "amount",
    )
    assert "30.00 USD left to refund" in error["message"]
    assert Refund.objects.count() == 1
    assert Payment.objects.get(pk=paid).amount_refunded == 7000
    assert gateway_calls.counts["refund"] == 1


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"reason": None}, "reason", "parameter_missing"),
        ({"reason": "because"}, "reason", "parameter_invalid"),
        ({"reason": "other"}, "note", "parameter_missing"),
        ({"reason": "other", "note": "   "}, "note", "parameter_missing"),
        ({"amount": 0}, "amount", "amount_too_small"),
        ({"amount": "10"}, "amount", "parameter_invalid"),
        ({"amount": 100, "currency": "usd"}, "currency", "parameter_unknown"),
    ],
)
def test_invalid_refund_requests_are_refused_with_the_parameter(
    api_client, paid, body, param, code
):
    response = refund(api_client, paid, **body)

    assert response.status_code == 400
    assert (response.json()["error"]["param"], response.json()["error"]["code"]) == (param, code)
    assert Refund.objects.count() == 0


def test_reason_other_with_a_note_is_accepted(api_client, paid):
    response = refund(api_client, paid, reason="other", note="Goodwill after a late delivery")

    assert response.status_code == 201
    assert response.json()["note"] == "Goodwill after a late delivery"


def test_only_completed_payments_can_be_refunded(api_client):
    authorized = create_payment(api_client, capture_method="manual").json()["id"]

    response = refund(api_client, authorized)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "payment_unexpected_state"
    assert Refund.objects.count() == 0


def test_a_refund_the_gateway_refuses_fails_and_gives_its_amount_back(api_client):
    paid = create_payment(api_client, REFUND_FAILS_CARD, amount=5000).json()["id"]

    response = refund(api_client, paid, amount=2000)

    assert response.status_code == 402
    error = response.json()["error"]
    assert (error["type"], error["code"], error["decline_code"]) == (
        "card_error",
        "refund_failed",
        "refund_failed",
    )
    assert error["refund"]["status"] == "FAILED"
    assert Payment.objects.get(pk=paid).amount_refunded == 0
    failed = Refund.objects.get()
    assert (failed.status, failed.error_code) == (RefundStatus.FAILED, "refund_failed")
    assert Transaction.objects.get(payment_id=paid, kind="REFUND").status == "DECLINED"
    assert OutboxEvent.objects.filter(type="refund.failed").count() == 1


def test_an_unreachable_gateway_fails_the_refund_with_503_and_releases_it(
    api_client, paid, monkeypatch
):
    def unreachable(self, **kwargs):
        raise GatewayUnavailableError("connection refused")

    monkeypatch.setattr(SandboxGateway, "refund", unreachable)

    response = refund(api_client, paid, amount=2500)

    assert response.status_code == 503
    assert response.json()["error"]["refund"]["status"] == "FAILED"
    assert Payment.objects.get(pk=paid).amount_refunded == 0


def test_a_gateway_timeout_leaves_the_refund_processing_with_its_amount_reserved(
    api_client, paid, monkeypatch
):
    def timed_out(self, **kwargs):
        raise GatewayTimeoutError("read timed out")

    monkeypatch.setattr(SandboxGateway, "refund", timed_out)

    response = refund(api_client, paid, amount=2500)

    assert response.status_code == 202
    assert response.json()["status"] == "PROCESSING"
    assert Payment.objects.get(pk=paid).amount_refunded == 2500
    assert refund(api_client, paid, amount=7501).json()["error"]["code"] == "amount_too_large"


def test_refunding_needs_the_refund_scope(merchant, api_client, paid):
    reader = client_for(
        api_key_issue(merchant=merchant, scopes=["payment:read", "payment:create"]).secret
    )

    response = refund(reader, paid)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"
    assert reader.get(refunds_url(paid)).status_code == 200


def test_other_merchants_payments_and_refunds_do_not_exist(api_client, other_api_client, paid):
    made = refund(api_client, paid, amount=100).json()["id"]

    assert refund(other_api_client, paid).status_code == 404
    assert other_api_client.get(refunds_url(paid)).status_code == 404
    assert other_api_client.get(f"/api/v1/refunds/{made}").status_code == 404


def test_refunds_are_listed_newest_first_and_retrieved(api_client, paid):
    first = refund(api_client, paid, amount=100).json()
    second = refund(api_client, paid, amount=200).json()

    listed = api_client.get(refunds_url(paid), {"limit": 1}).json()
    assert (listed["object"], listed["has_more"]) == ("list", True)
    assert [item["id"] for item in listed["data"]] == [second["id"]]
    assert api_client.get(f"/api/v1/refunds/{first['id']}").json() == first


def test_a_retried_refund_with_the_same_key_is_replayed_not_repeated(
    api_client, paid, gateway_calls
):
    body = {"reason": "duplicate", "amount": 1500}
    first = api_client.post(refunds_url(paid), body, format="json", HTTP_IDEMPOTENCY_KEY="rf-1")
    again = api_client.post(refunds_url(paid), body, format="json", HTTP_IDEMPOTENCY_KEY="rf-1")

    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert Refund.objects.count() == 1
    assert gateway_calls.counts["refund"] == 1


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_refunds_never_refund_more_than_was_captured(api_key, gateway_calls):
    paid = create_payment(client_for(api_key.secret), amount=10000).json()["id"]

    def send():
        response = refund(client_for(api_key.secret), paid, amount=1000)
        return response.status_code, response.json()

    results = run_concurrently(20, send)

    succeeded = [body for status, body in results if status == 201]
    refused = [body for status, body in results if status != 201]
    assert len(succeeded) == 10
    assert {body["status"] for body in succeeded} == {"COMPLETED"}
    assert len(refused) == 10
    assert {(status, body["error"]["code"]) for status, body in results if status != 201} <= {
        (400, "charge_already_refunded"),
        (400, "amount_too_large"),
    }
    assert Payment.objects.get(pk=paid).amount_refunded == 10000
    assert Refund.objects.filter(status="COMPLETED").count() == 10
    assert gateway_calls.counts["refund"] == 10
    assert gateway_calls.inside_transaction == []


def test_a_key_reused_after_its_24_hours_for_a_refund_that_exists_is_refused_with_422(
    api_client, paid
):
    body = {"amount": 100, "reason": "requested_by_customer"}
    first = api_client.post(refunds_url(paid), body, format="json", HTTP_IDEMPOTENCY_KEY="rf-old")
    assert first.status_code == 201
    IdempotencyKey.objects.filter(key="rf-old").update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )

    late = api_client.post(refunds_url(paid), body, format="json", HTTP_IDEMPOTENCY_KEY="rf-old")

    assert late.status_code == 422
    assert late.json()["error"]["code"] == "idempotency_key_reused"
    assert Refund.objects.count() == 1
    assert Payment.objects.get(pk=paid).amount_refunded == 100
