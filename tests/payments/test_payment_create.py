import pytest

from payments.models import Payment, PaymentStatus, Transaction, TransactionKind
from tests.conftest import PAYMENTS_URL, card_data, create_payment, payment_body

ERROR_KEYS = {"type", "code", "message", "param"}
# str.isdigit() accepts these, int() reads them as 4242…, but no card number contains them.
FULLWIDTH_4242 = "".join(chr(0xFF10 + int(digit)) for digit in "4242424242424242")


def test_payment_with_good_card_completes(api_client):
    response = api_client.post(
        "/api/v1/payments",
        {"amount": 1050, "currency": "usd", "payment_method_data": card_data()},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert body["id"].startswith("pay_")
    assert body["status"] == "COMPLETED"
    assert body["currency"] == "USD"
    assert body["amount_captured"] == 1050
    assert body["payment_method"]["card"]["last4"] == "4242"


def test_completed_payment_is_stored_with_a_sale_transaction(api_client):
    body = create_payment(api_client).json()

    payment = Payment.objects.get(pk=body["id"])
    assert payment.status == PaymentStatus.COMPLETED
    assert payment.gateway == "sandbox"
    assert payment.gateway_reference.startswith("sbx_")
    assert payment.pending_operation == ""
    (txn,) = Transaction.objects.filter(payment=payment)
    assert (txn.kind, txn.status, txn.amount) == (TransactionKind.SALE, "SUCCEEDED", 1050)


def test_manual_capture_payment_with_good_card_is_authorized_not_captured(api_client):
    response = create_payment(api_client, capture_method="manual")

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "AUTHORIZED"
    assert body["capture_method"] == "manual"
    assert body["amount_captured"] == 0
    (txn,) = Transaction.objects.filter(payment_id=body["id"])
    assert txn.kind == TransactionKind.AUTHORIZE


@pytest.mark.parametrize(
    ("number", "code", "decline_code", "stored_error_code"),
    [
        ("4000000000000002", "card_declined", "generic_decline", "generic_decline"),
        ("4000000000009995", "card_declined", "insufficient_funds", "insufficient_funds"),
        ("4000000000000069", "expired_card", "expired_card", "expired_card"),
        ("4000000000000127", "incorrect_cvc", "incorrect_cvc", "incorrect_cvc"),
        ("4000000000000119", "processing_error", "processing_error", "processing_error"),
    ],
)
def test_declined_card_answers_402_card_error_with_the_failed_payment(
    api_client, number, code, decline_code, stored_error_code
):
    response = create_payment(api_client, number)

    assert response.status_code == 402
    error = response.json()["error"]
    assert set(error) == ERROR_KEYS | {"payment", "decline_code"}
    assert error["type"] == "card_error"
    assert error["code"] == code
    assert error["param"] is None
    assert error["message"]
    assert error["decline_code"] == decline_code
    assert error["payment"]["status"] == "FAILED"
    assert error["payment"]["error_code"] == stored_error_code
    assert error["payment"]["amount_captured"] == 0
    payment = Payment.objects.get(pk=error["payment"]["id"])
    assert payment.status == PaymentStatus.FAILED
    assert payment.error_code == stored_error_code
    (txn,) = Transaction.objects.filter(payment=payment)
    assert (txn.status, txn.error_code) == ("DECLINED", stored_error_code)


def test_insufficient_funds_decline_is_stored_as_failed_with_its_code(api_client):
    payment_id = create_payment(api_client, "4000000000009995").json()["error"]["payment"]["id"]

    assert Payment.objects.filter(
        pk=payment_id, status="FAILED", error_code="insufficient_funds"
    ).exists()


def test_3ds_card_requires_action_with_a_next_action(api_client):
    response = create_payment(api_client, "4000002760003184")

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "REQUIRES_ACTION"
    assert body["next_action"]["type"] == "redirect_to_url"
    assert body["next_action"]["redirect_to_url"]["url"].startswith("https://")
    assert body["amount_captured"] == 0
    assert Payment.objects.get(pk=body["id"]).status == PaymentStatus.REQUIRES_ACTION


@pytest.mark.parametrize("number", ["4242424242424241", "1234567890123", "4242"])
def test_luhn_invalid_card_number_is_refused_with_invalid_number(api_client, number):
    response = create_payment(api_client, number)

    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == ERROR_KEYS
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "invalid_number"
    assert error["param"] == "payment_method_data[card][number]"
    assert not Payment.objects.exists()


def test_card_number_with_spaces_or_dashes_is_accepted(api_client):
    assert create_payment(api_client, "4242 4242 4242 4242").status_code == 201
    assert create_payment(api_client, "4242-4242-4242-4242").status_code == 201


@pytest.mark.parametrize(
    ("card_fields", "code", "param"),
    [
        ({"exp_month": 13}, "invalid_expiry_month", "exp_month"),
        ({"exp_year": 2019}, "invalid_expiry_year", "exp_year"),
        ({"cvc": "12"}, "invalid_cvc", "cvc"),
        ({"cvc": "²²²"}, "invalid_cvc", "cvc"),
        ({"number": FULLWIDTH_4242}, "invalid_number", "number"),
        ({"number": "424242424242424²"}, "invalid_number", "number"),
    ],
)
def test_malformed_card_fields_are_refused_with_their_card_error_code(
    api_client, card_fields, code, param
):
    body = payment_body()
    body["payment_method_data"]["card"].update(card_fields)

    response = api_client.post(PAYMENTS_URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["param"] == f"payment_method_data[card][{param}]"
    assert not Payment.objects.exists()


def test_amount_and_currency_are_stored_as_minor_units_and_uppercase(api_client):
    body = create_payment(api_client, amount=500, currency="jpy").json()

    assert (body["amount"], body["currency"]) == (500, "JPY")
    assert Payment.objects.filter(pk=body["id"], amount=500, currency="JPY").exists()


def test_payment_records_metadata_description_and_the_customers_ip(api_client):
    body = create_payment(
        api_client,
        description="Order 17",
        metadata={"order_id": "17"},
        receipt_email="a@b.co",
        client_ip="203.0.113.9",
    ).json()

    payment = Payment.objects.get(pk=body["id"])
    assert (payment.description, payment.metadata) == ("Order 17", {"order_id": "17"})
    assert payment.receipt_email == "a@b.co"
    assert payment.client_ip == "203.0.113.9"  # the customer's, as the merchant sent it
    assert body["metadata"] == {"order_id": "17"}
