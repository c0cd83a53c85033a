import pytest

from payments.errors import StateConflict
from payments.models import Payment, PaymentStatus, Transaction, TransactionKind
from payments.services.payments import payment_cancel
from tests.conftest import PAYMENTS_URL, create_payment
from tests.payments.factories import PaymentFactory


def cancel(client, payment_id, body=None):
    return client.post(f"{PAYMENTS_URL}/{payment_id}/cancel", body or {}, format="json")


def test_cancelling_an_authorized_payment_voids_it_at_the_gateway(api_client, gateway_calls):
    payment_id = create_payment(api_client, capture_method="manual").json()["id"]

    response = cancel(api_client, payment_id, {"cancellation_reason": "requested_by_customer"})

    assert response.status_code == 200
    assert response.json()["status"] == "CANCELLED"
    payment = Payment.objects.get(pk=payment_id)
    assert payment.status == PaymentStatus.CANCELLED
    assert payment.cancellation_reason == "requested_by_customer"
    assert payment.amount_captured == 0
    assert gateway_calls.counts["void"] == 1
    void = Transaction.objects.get(payment=payment, kind=TransactionKind.VOID)
    assert void.status == "SUCCEEDED"


def test_cancelling_a_payment_that_requires_action_voids_it(api_client, gateway_calls):
    payment_id = create_payment(api_client, "4000002760003184").json()["id"]

    response = cancel(api_client, payment_id)

    assert response.status_code == 200
    assert Payment.objects.get(pk=payment_id).status == PaymentStatus.CANCELLED
    assert Payment.objects.get(pk=payment_id).next_action is None
    assert gateway_calls.counts["void"] == 1


def test_completed_payment_cannot_be_cancelled(api_client, gateway_calls):
    payment_id = create_payment(api_client).json()["id"]

    response = cancel(api_client, payment_id)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "payment_unexpected_state"
    assert Payment.objects.get(pk=payment_id).status == PaymentStatus.COMPLETED
    assert gateway_calls.counts["void"] == 0


@pytest.mark.parametrize("status", [PaymentStatus.FAILED, PaymentStatus.CANCELLED])
def test_terminal_payments_cannot_be_cancelled(merchant, status):
    payment = PaymentFactory(merchant=merchant, status=status)

    with pytest.raises(StateConflict) as raised:
        payment_cancel(merchant=merchant, payment_id=payment.id)

    assert raised.value.code == "payment_unexpected_state"
    payment.refresh_from_db()
    assert payment.status == status


@pytest.mark.parametrize("status", [PaymentStatus.PENDING, PaymentStatus.UNDER_REVIEW])
def test_payments_not_yet_at_the_gateway_cancel_without_a_gateway_call(
    merchant, status, gateway_calls
):
    payment = PaymentFactory(merchant=merchant, status=status)

    cancelled = payment_cancel(merchant=merchant, payment_id=payment.id, reason="abandoned")

    assert cancelled.status == PaymentStatus.CANCELLED
    payment.refresh_from_db()
    assert (payment.status, payment.cancellation_reason) == (PaymentStatus.CANCELLED, "abandoned")
    assert gateway_calls.counts["void"] == 0


def test_unknown_cancellation_reason_is_refused(api_client):
    payment_id = create_payment(api_client, capture_method="manual").json()["id"]

    response = cancel(api_client, payment_id, {"cancellation_reason": "bored"})

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "cancellation_reason"
    assert Payment.objects.get(pk=payment_id).status == PaymentStatus.AUTHORIZED
