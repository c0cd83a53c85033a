"""Limits found in review: over-long emails, unbounded rule parameters, unkeyed request hashes."""

import hashlib
import json

import pytest

from fraud.rules import RuleError, validate_parameters
from payments.models import Customer, IdempotencyKey, Payment
from tests.conftest import payment_body

LONG_EMAIL = "a" * 250 + "@example.com"


@pytest.mark.django_db
def test_an_email_longer_than_254_characters_is_a_400_not_a_500(api_client):
    payment = api_client.post(
        "/api/v1/payments", payment_body(receipt_email=LONG_EMAIL), format="json"
    )
    customer = api_client.post("/api/v1/customers", {"email": LONG_EMAIL}, format="json")

    assert payment.status_code == customer.status_code == 400
    assert payment.json()["error"]["param"] == "receipt_email"
    assert not Payment.objects.exists() and not Customer.objects.exists()


@pytest.mark.parametrize(
    ("kind", "parameters"),
    [
        ("velocity", {"max_count": 5, "window_seconds": 10**11, "per": "card"}),
        ("velocity", {"max_count": 2**63, "window_seconds": 60, "per": "card"}),
        ("geo_anomaly", {"max_distance_km": 10, "window_seconds": 91 * 86400}),
        ("amount_threshold", {"thresholds": {"USD": 10**20}}),
    ],
)
def test_rule_parameters_are_bounded_so_every_payment_stays_computable(kind, parameters):
    with pytest.raises(RuleError):
        validate_parameters(kind, parameters, "block")


@pytest.mark.django_db
def test_the_stored_request_fingerprint_is_keyed_not_a_plain_hash_of_the_card(api_client):
    body = json.dumps(payment_body()).encode()
    api_client.post(
        "/api/v1/payments", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
    )

    stored = IdempotencyKey.objects.get(key="k-1").request_fingerprint
    plain = hashlib.sha256(b"\n".join([b"POST", b"/api/v1/payments", body])).hexdigest()
    assert stored != plain
    assert stored != hashlib.sha256(body).hexdigest()
