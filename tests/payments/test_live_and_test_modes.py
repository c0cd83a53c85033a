"""Test keys see test objects only, live keys live objects only (a leaked sk_test_ key must
not touch live payments)."""

import pytest

from payments.models import ApiKeyScope, Payment, PaymentStatus
from payments.services.api_keys import api_key_issue
from tests.conftest import PAYMENTS_URL, client_for, create_payment, payment_body


@pytest.fixture
def live_client(merchant):
    return client_for(
        api_key_issue(merchant=merchant, scopes=ApiKeyScope.values, mode="live").secret
    )


@pytest.mark.django_db
def test_a_test_key_cannot_see_capture_or_cancel_a_live_payment(api_client, live_client):
    live = create_payment(live_client, capture_method="manual").json()
    assert live["livemode"] is True

    seen = api_client.get(f"/api/v1/payments/{live['id']}")
    listed = api_client.get("/api/v1/payments").json()["data"]
    captured = api_client.post(f"/api/v1/payments/{live['id']}/capture", {}, format="json")
    cancelled = api_client.post(f"/api/v1/payments/{live['id']}/cancel", {}, format="json")

    assert seen.status_code == captured.status_code == cancelled.status_code == 404
    assert listed == []
    assert Payment.objects.get(pk=live["id"]).status == PaymentStatus.AUTHORIZED
    assert live_client.get(f"/api/v1/payments/{live['id']}").status_code == 200


@pytest.mark.django_db
def test_customers_and_saved_cards_belong_to_one_mode(api_client, live_client):
    customer = api_client.post("/api/v1/customers", {"email": "t@example.com"}, format="json")
    customer_id = customer.json()["id"]
    method = api_client.post(
        f"/api/v1/customers/{customer_id}/payment-methods",
        {"type": "card", "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030}},
        format="json",
    ).json()

    assert live_client.get(f"/api/v1/customers/{customer_id}").status_code == 404
    assert live_client.get("/api/v1/customers").json()["data"] == []
    paid_live = live_client.post(
        "/api/v1/payments",
        {"amount": 500, "currency": "usd", "payment_method": method["id"]},
        format="json",
    )
    assert paid_live.status_code == 404
    assert paid_live.json()["error"]["param"] == "payment_method"


@pytest.mark.django_db
def test_the_same_idempotency_key_in_the_other_mode_never_replays(api_client, live_client):
    body = payment_body(amount=700)

    live = live_client.post(PAYMENTS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="order-77")
    from_test_key = api_client.post(
        PAYMENTS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="order-77"
    )

    assert live.status_code == 201
    assert from_test_key.status_code == 422
    assert live.json()["id"] not in from_test_key.content.decode()
