import pytest

from payments.models import Payment, PaymentStatus, Transaction, TransactionKind
from tests.concurrency import run_concurrently
from tests.conftest import PAYMENTS_URL, client_for, create_payment
from tests.payments.factories import PaymentFactory


def authorized_payment(client, amount=1000) -> str:
    response = create_payment(client, amount=amount, capture_method="manual")
    assert response.json()["status"] == "AUTHORIZED"
    return response.json()["id"]


def capture(client, payment_id, body=None):
    return client.post(f"{PAYMENTS_URL}/{payment_id}/capture", body or {}, format="json")


def test_capture_without_amount_captures_the_full_authorization(api_client, gateway_calls):
    payment_id = authorized_payment(api_client, amount=1000)

    response = capture(api_client, payment_id)

    assert response.status_code == 200
    assert response.json()["status"] == "COMPLETED"
    assert response.json()["amount_captured"] == 1000
    payment = Payment.objects.get(pk=payment_id)
    assert (payment.status, payment.amount_captured) == (PaymentStatus.COMPLETED, 1000)
    assert gateway_calls.counts["capture"] == 1
    kinds = set(Transaction.objects.filter(payment=payment).values_list("kind", flat=True))
    assert kinds == {TransactionKind.AUTHORIZE, TransactionKind.CAPTURE}


def test_partial_capture_captures_only_amount_to_capture(api_client):
    payment_id = authorized_payment(api_client, amount=1000)

    response = capture(api_client, payment_id, {"amount_to_capture": 600})

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["amount"], body["amount_captured"]) == ("COMPLETED", 1000, 600)
    txn = Transaction.objects.get(payment_id=payment_id, kind=TransactionKind.CAPTURE)
    assert txn.amount == 600


def test_capture_of_more_than_the_authorized_amount_is_refused_with_amount_too_large(
    api_client, gateway_calls
):
    payment_id = authorized_payment(api_client, amount=1000)

    response = capture(api_client, payment_id, {"amount_to_capture": 1001})

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("amount_too_large", "amount_to_capture")
    assert Payment.objects.get(pk=payment_id).status == PaymentStatus.AUTHORIZED
    assert gateway_calls.counts["capture"] == 0


@pytest.mark.parametrize(("amount", "code"), [(0, "amount_too_small"), (-1, "amount_too_small")])
def test_capture_of_a_non_positive_amount_is_refused(api_client, amount, code):
    payment_id = authorized_payment(api_client)

    response = capture(api_client, payment_id, {"amount_to_capture": amount})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert Payment.objects.get(pk=payment_id).status == PaymentStatus.AUTHORIZED


def test_capturing_a_completed_payment_is_a_409_payment_unexpected_state(api_client):
    payment_id = create_payment(api_client).json()["id"]

    response = capture(api_client, payment_id)

    assert response.status_code == 409
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("invalid_request_error", "payment_unexpected_state")
    assert Payment.objects.get(pk=payment_id).amount_captured == 1050


@pytest.mark.parametrize(
    "status", [status for status in PaymentStatus.values if status != PaymentStatus.AUTHORIZED]
)
def test_only_authorized_payments_can_be_captured(api_client, merchant, status, gateway_calls):
    payment = PaymentFactory(merchant=merchant, status=status)

    response = capture(api_client, payment.id)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "payment_unexpected_state"
    payment.refresh_from_db()
    assert payment.status == status
    assert gateway_calls.counts["capture"] == 0


def test_capture_of_another_merchants_payment_is_404(api_client, other_api_client):
    payment_id = authorized_payment(other_api_client)

    response = capture(api_client, payment_id)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "resource_missing"
    assert Payment.objects.get(pk=payment_id).status == PaymentStatus.AUTHORIZED


@pytest.mark.django_db(transaction=True)
def test_concurrent_double_capture_captures_exactly_once(api_key, gateway_calls):
    payment_id = authorized_payment(client_for(api_key.secret), amount=1000)

    def send():
        response = capture(client_for(api_key.secret), payment_id, {"amount_to_capture": 700})
        return response.status_code, response.json()

    results = run_concurrently(2, send)

    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 409]
    conflict = next(body for status, body in results if status == 409)
    assert conflict["error"]["code"] == "payment_unexpected_state"
    assert gateway_calls.counts["capture"] == 1
    payment = Payment.objects.get(pk=payment_id)
    assert (payment.status, payment.amount_captured) == (PaymentStatus.COMPLETED, 700)
    assert Transaction.objects.filter(payment=payment, kind=TransactionKind.CAPTURE).count() == 1
