"""Bad requests get a 4xx with the error envelope, never a 500, and change nothing."""

import pytest

from audit.models import AuditLog
from payments.models import IdempotencyKey, Payment, PaymentMethod
from payments.money import MAX_AMOUNT
from tests.conftest import PAYMENTS_URL, card_data, payment_body

ENVELOPE_KEYS = {"type", "code", "message", "param"}


def assert_error(response, status, code, param=None, error_type="invalid_request_error"):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    assert set(response.json()) == {"error"}
    error = response.json()["error"]
    assert set(error) == ENVELOPE_KEYS
    assert (error["type"], error["code"], error["param"]) == (error_type, code, param)
    assert isinstance(error["message"], str) and error["message"]
    return error


@pytest.fixture
def nothing_changes(db):
    """The test's bad request must leave no payment, card, audit row or idempotency key."""
    audit_rows_before = AuditLog.objects.count()
    yield
    assert not Payment.objects.exists()
    assert not PaymentMethod.objects.exists()
    assert AuditLog.objects.count() == audit_rows_before
    assert not IdempotencyKey.objects.exists()


def post_json(client, raw, **extra):
    return client.post(
        PAYMENTS_URL, raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY="bad-1", **extra
    )


@pytest.mark.parametrize(
    "raw",
    [b"{", b'{"amount": 100,}', b"not json", b'{"amount": NaN}', b"\xff\xfe{}", b"[" * 5000],
)
def test_malformed_json_is_400_invalid_json(api_client, nothing_changes, raw):
    assert_error(post_json(api_client, raw), 400, "invalid_json")


def test_deeply_nested_json_is_400_not_a_recursion_error(api_client, nothing_changes):
    raw = b"[" * 30_000 + b"]" * 30_000

    assert_error(post_json(api_client, raw), 400, "invalid_json")


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"[]", "parameter_invalid"),
        (b'"payment"', "parameter_invalid"),
        (b"null", "parameter_missing"),
    ],
)
def test_json_that_is_not_an_object_is_refused(api_client, nothing_changes, raw, code):
    assert_error(post_json(api_client, raw), 400, code)


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("10", "parameter_invalid"),
        (True, "parameter_invalid"),
        (10.5, "parameter_invalid"),
        (10.0, "parameter_invalid"),
        (None, "parameter_missing"),
        ([100], "parameter_invalid"),
        ({"value": 100}, "parameter_invalid"),
        (0, "amount_too_small"),
        (-100, "amount_too_small"),
        (MAX_AMOUNT + 1, "amount_too_large"),
        (2**63, "amount_too_large"),
        (10**30, "amount_too_large"),
    ],
)
def test_wrongly_typed_or_out_of_range_amount_is_refused(api_client, nothing_changes, amount, code):
    response = api_client.post(PAYMENTS_URL, payment_body(amount=amount), format="json")

    assert_error(response, 400, code, param="amount")


def test_the_largest_amount_is_accepted(api_client):
    response = api_client.post(PAYMENTS_URL, payment_body(amount=MAX_AMOUNT), format="json")

    assert response.status_code == 201
    assert Payment.objects.get().amount == MAX_AMOUNT


@pytest.mark.parametrize(
    ("currency", "code"),
    [
        ("xyz", "currency_invalid"),
        ("usdollars", "currency_invalid"),
        ("", "parameter_invalid"),
        (840, "parameter_invalid"),
    ],
)
def test_unknown_currency_is_refused(api_client, nothing_changes, currency, code):
    response = api_client.post(PAYMENTS_URL, payment_body(currency=currency), format="json")

    assert_error(response, 400, code, param="currency")


def test_missing_amount_is_400_parameter_missing(api_client, nothing_changes):
    body = payment_body()
    del body["amount"]

    assert_error(
        api_client.post(PAYMENTS_URL, body, format="json"), 400, "parameter_missing", "amount"
    )


def test_unknown_top_level_field_is_400_parameter_unknown(api_client, nothing_changes):
    response = api_client.post(PAYMENTS_URL, payment_body(amout=100), format="json")

    assert_error(response, 400, "parameter_unknown", param="amout")


def test_unknown_field_inside_the_card_is_400_parameter_unknown(api_client, nothing_changes):
    body = payment_body()
    body["payment_method_data"]["card"]["pin"] = "1234"

    response = api_client.post(PAYMENTS_URL, body, format="json")

    assert_error(response, 400, "parameter_unknown", param="payment_method_data[card][pin]")


def test_unknown_field_inside_payment_method_data_is_400_parameter_unknown(
    api_client, nothing_changes
):
    body = payment_body()
    body["payment_method_data"]["billing"] = {}

    response = api_client.post(PAYMENTS_URL, body, format="json")

    assert_error(response, 400, "parameter_unknown", param="payment_method_data[billing]")


@pytest.mark.parametrize(
    ("fields", "code", "param"),
    [
        ({"capture_method": "later"}, "parameter_invalid", "capture_method"),
        ({"receipt_email": "not-an-email"}, "parameter_invalid", "receipt_email"),
        ({"metadata": {"k": 1}}, "parameter_invalid", "metadata"),
        ({"metadata": "order=1"}, "parameter_invalid", "metadata"),
        ({"metadata": {"k": "a\u0000b"}}, "parameter_invalid", "metadata"),
        ({"metadata": {"k\u0000": "v"}}, "parameter_invalid", "metadata"),
        ({"description": "a\u0000b"}, "parameter_invalid", "description"),
        ({"description": "x" * 501}, "parameter_invalid", "description"),
        ({"customer": 42}, "parameter_invalid", "customer"),
        ({"payment_method_data": None}, "parameter_missing", "payment_method_data"),
        ({"payment_method_data": "card"}, "parameter_invalid", "payment_method_data"),
    ],
)
def test_invalid_optional_fields_are_refused(api_client, nothing_changes, fields, code, param):
    response = api_client.post(PAYMENTS_URL, payment_body(**fields), format="json")

    assert_error(response, 400, code, param=param)


def test_payment_method_and_card_data_together_are_refused(api_client, nothing_changes):
    body = payment_body(payment_method="pm_123")

    response = api_client.post(PAYMENTS_URL, body, format="json")

    assert_error(response, 400, "parameter_missing", param="payment_method")


def test_payment_without_any_payment_method_is_refused(api_client, nothing_changes):
    response = api_client.post(PAYMENTS_URL, {"amount": 100, "currency": "usd"}, format="json")

    assert_error(response, 400, "parameter_missing", param="payment_method")


def test_unknown_customer_is_404_resource_missing(api_client, nothing_changes):
    response = api_client.post(PAYMENTS_URL, payment_body(customer="cus_nope"), format="json")

    assert_error(response, 404, "resource_missing", param="customer")


def test_unknown_saved_payment_method_is_404(api_client, nothing_changes):
    body = {"amount": 100, "currency": "usd", "payment_method": "pm_nope"}

    response = api_client.post(PAYMENTS_URL, body, format="json")

    assert_error(response, 404, "resource_missing", param="payment_method")


def test_one_megabyte_body_is_413_request_too_large(api_client, nothing_changes):
    raw = b'{"description": "' + b"x" * (1024 * 1024) + b'"}'

    assert_error(post_json(api_client, raw), 413, "request_too_large")


def test_form_encoded_body_is_415(api_client, nothing_changes):
    response = api_client.post(
        PAYMENTS_URL, "amount=100&currency=usd", content_type="application/x-www-form-urlencoded"
    )

    assert_error(response, 415, "unsupported_media_type")


def test_unknown_payment_id_is_404_resource_missing(api_client):
    assert_error(api_client.get(f"{PAYMENTS_URL}/pay_doesnotexist"), 404, "resource_missing", "id")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/payments/pay_%00",
        "/api/v1/payments/pay_%00/capture",
        "/api/v1/customers/cus_%00",
        "/api/v1/payments/pay_%E2%82%AC",
        "/api/v1/nothing-here",
    ],
)
def test_unroutable_api_path_is_a_json_404(api_client, path):
    assert_error(api_client.get(path), 404, "resource_missing")


def test_very_long_payment_id_is_404(api_client):
    response = api_client.get(f"{PAYMENTS_URL}/pay_{'x' * 2000}")

    assert_error(response, 404, "resource_missing", "id")


def test_another_merchants_payment_is_404(api_client, other_api_client):
    payment_id = other_api_client.post(PAYMENTS_URL, payment_body(), format="json").json()["id"]

    assert_error(api_client.get(f"{PAYMENTS_URL}/{payment_id}"), 404, "resource_missing", "id")
    assert other_api_client.get(f"{PAYMENTS_URL}/{payment_id}").status_code == 200


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("limit=%C2%B2", "limit"),
        ("limit=" + "9" * 5000, "limit"),
        ("status=settled", "status"),
        ("created[gte]=yesterday", "created[gte]"),
        ("created[lte]=1e9", "created[lte]"),
        ("customer=cus_%00", "customer"),
        ("starting_after=pay_%00", "starting_after"),
    ],
)
def test_bad_list_query_is_400(api_client, query, param):
    assert_error(api_client.get(f"{PAYMENTS_URL}?{query}"), 400, "parameter_invalid", param)


def test_unknown_list_query_parameter_is_400_parameter_unknown(api_client):
    assert_error(api_client.get(f"{PAYMENTS_URL}?sort=amount"), 400, "parameter_unknown", "sort")


def test_unknown_cursor_is_404(api_client):
    response = api_client.get(f"{PAYMENTS_URL}?starting_after=pay_nope")

    assert_error(response, 404, "resource_missing", "starting_after")


def test_null_character_in_customer_email_filter_is_400(api_client):
    response = api_client.get("/api/v1/customers?email=a%00b")

    assert_error(response, 400, "parameter_invalid", "email")


def test_unsupported_method_is_refused_without_a_500(api_client):
    response = api_client.delete(f"{PAYMENTS_URL}")

    assert response.status_code in (403, 405)
    assert set(response.json()["error"]) == ENVELOPE_KEYS


def test_card_data_is_checked_for_customer_payment_methods(api_client):
    customer = api_client.post("/api/v1/customers", {}, format="json").json()
    body = card_data("4242424242424241")

    response = api_client.post(
        f"/api/v1/customers/{customer['id']}/payment-methods", body, format="json"
    )

    assert_error(response, 400, "invalid_number", "payment_method_data[card][number]")
    assert not PaymentMethod.objects.exists()


def test_an_amount_given_twice_is_refused_not_charged(api_client, nothing_changes):
    raw = (
        b'{"amount": 100000, "currency": "usd", "payment_method_data": {"type": "card", "card": '
        b'{"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}, '
        b'"amount": 1}'
    )

    error = assert_error(post_json(api_client, raw), 400, "parameter_duplicated", param="amount")

    assert "4242424242424242" not in error["message"]
