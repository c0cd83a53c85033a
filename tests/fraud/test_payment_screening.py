"""Every payment passes the fraud engine before any gateway call: each rule kind and action,
end to end through POST /api/v1/payments on PostgreSQL."""

import pytest

from fraud.models import BlocklistEntry, BlocklistKind, FraudCheck, FraudObservation
from fraud.rules import RuleSpec
from fraud.services import fraud_rules_apply
from payments.models import Payment, PaymentStatus
from tests.conftest import create_payment

PARIS = {"latitude": 48.8566, "longitude": 2.3522}
NEW_YORK = {"latitude": 40.7128, "longitude": -74.0060}
LONDON = {"latitude": 51.5074, "longitude": -0.1278}


def only_rules(*specs: RuleSpec) -> None:
    """Make `specs` the only enabled rules (as `update-fraud-rules.sh --disable-missing`)."""
    fraud_rules_apply(list(specs), disable_missing=True)


def velocity(max_count: int, per: str, action: str = "flag_for_review") -> RuleSpec:
    return RuleSpec(
        "velocity", "velocity", {"max_count": max_count, "window_seconds": 3600, "per": per}, action
    )


@pytest.mark.django_db
def test_velocity_per_card_holds_the_payment_for_review_without_a_gateway_call(
    api_client, gateway_calls
):
    only_rules(velocity(2, "card"))
    assert create_payment(api_client).status_code == 201
    assert create_payment(api_client).status_code == 201
    calls_before = gateway_calls.counts["authorize"]

    response = create_payment(api_client)

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "UNDER_REVIEW"
    assert gateway_calls.counts["authorize"] == calls_before
    check = FraudCheck.objects.get(payment_id=body["id"])
    assert check.decision == "flag_for_review"
    assert check.fired == [
        {
            "rule": "velocity",
            "version": 1,
            "kind": "velocity",
            "action": "flag_for_review",
            "observed": {"count": 3, "per": "card", "window_seconds": 3600},
        }
    ]
    assert check.rule_versions == {"velocity": 1}


@pytest.mark.django_db
def test_velocity_counts_per_ip_and_per_email_independently(api_client):
    only_rules(
        velocity(1, "ip", "block"),
        RuleSpec(
            "mail",
            "velocity",
            {"max_count": 1, "window_seconds": 60, "per": "email"},
            "flag_for_review",
        ),
    )

    first = create_payment(api_client, client_ip="198.51.100.1", receipt_email="a@example.com")
    other_ip_other_mail = create_payment(
        api_client, client_ip="198.51.100.2", receipt_email="b@example.com"
    )
    same_mail = create_payment(api_client, client_ip="198.51.100.3", receipt_email="A@example.com")
    same_ip = create_payment(api_client, client_ip="198.51.100.1", receipt_email="c@example.com")

    assert first.json()["status"] == other_ip_other_mail.json()["status"] == "COMPLETED"
    assert same_mail.json()["status"] == "UNDER_REVIEW"  # emails compare case-insensitively
    assert same_ip.status_code == 402
    assert same_ip.json()["error"]["code"] == "fraud_blocked"


@pytest.mark.django_db
def test_geo_anomaly_asks_the_gateway_for_3d_secure(api_client, gateway_calls):
    only_rules(
        RuleSpec(
            "geo",
            "geo_anomaly",
            {"max_distance_km": 1000, "window_seconds": 3600},
            "require_additional_verification",
        )
    )
    assert create_payment(api_client, client_location=PARIS).json()["status"] == "COMPLETED"
    assert create_payment(api_client, client_location=LONDON).json()["status"] == "COMPLETED"

    response = create_payment(api_client, client_location=NEW_YORK)

    body = response.json()
    assert response.status_code == 201
    assert body["status"] == "REQUIRES_ACTION"
    assert body["next_action"]["type"] == "redirect_to_url"
    assert gateway_calls.counts["authorize"] == 3  # verification happens at the gateway
    fired = FraudCheck.objects.get(payment_id=body["id"]).fired[0]
    assert fired["rule"] == "geo"
    assert 5500 < fired["observed"]["distance_km"] < 5600  # London to New York


@pytest.mark.django_db
def test_amount_threshold_blocks_with_402_and_no_gateway_call(api_client, gateway_calls):
    only_rules(RuleSpec("big", "amount_threshold", {"thresholds": {"USD": 100_000}}, "block"))

    response = create_payment(api_client, amount=100_001)

    assert response.status_code == 402
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("card_error", "fraud_blocked")
    assert error["payment"]["status"] == "FAILED"
    payment = Payment.objects.get(pk=error["payment"]["id"])
    assert (payment.status, payment.error_code) == (PaymentStatus.FAILED, "fraud_blocked")
    assert gateway_calls.counts["authorize"] == 0
    assert create_payment(api_client, amount=100_000).status_code == 201


@pytest.mark.django_db
def test_first_payment_of_a_new_card_over_the_threshold_is_held(api_client):
    only_rules(
        RuleSpec("first", "first_payment_amount", {"thresholds": {"USD": 5_000}}, "flag_for_review")
    )

    big_first = create_payment(api_client, "5555555555554444", amount=9_000)
    small_first = create_payment(api_client, "4242424242424242", amount=100)
    big_second = create_payment(api_client, "4242424242424242", amount=9_000)

    assert big_first.json()["status"] == "UNDER_REVIEW"
    assert small_first.json()["status"] == "COMPLETED"
    assert big_second.json()["status"] == "COMPLETED"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "value", "fields"),
    [
        (BlocklistKind.EMAIL, "fraudster@example.com", {"receipt_email": "Fraudster@Example.com"}),
        (BlocklistKind.IP, "203.0.113.0/24", {"client_ip": "203.0.113.77"}),
        (BlocklistKind.IP, "2001:db8::/32", {"client_ip": "2001:db8::1"}),
    ],
)
def test_blocklisted_email_or_ip_range_is_blocked(api_client, kind, value, fields):
    only_rules(RuleSpec("lists", "blocklist", {}, "block"))
    BlocklistEntry.objects.create(kind=kind, value=value, reason="chargebacks")

    blocked = create_payment(api_client, **fields)
    clean = create_payment(api_client, client_ip="198.51.100.9", receipt_email="ok@example.com")

    assert blocked.status_code == 402
    assert blocked.json()["error"]["code"] == "fraud_blocked"
    assert clean.status_code == 201


@pytest.mark.django_db
def test_blocklisted_card_fingerprint_is_blocked(api_client):
    only_rules(RuleSpec("cards", "blocklist", {"kinds": ["card_fingerprint"]}, "block"))
    fingerprint = create_payment(api_client).json()["payment_method"]["card"]["fingerprint"]
    BlocklistEntry.objects.create(kind=BlocklistKind.CARD_FINGERPRINT, value=fingerprint)

    assert create_payment(api_client).status_code == 402
    assert create_payment(api_client, "5555555555554444").status_code == 201


@pytest.mark.django_db
def test_every_payment_stores_its_fraud_check_and_observation(api_client):
    body = create_payment(api_client, client_ip="198.51.100.4", client_location=PARIS).json()

    check = FraudCheck.objects.get(payment_id=body["id"])
    assert (check.decision, check.score, check.fired) == ("allow", 0, [])
    assert {"Unusual Transaction Pattern", "Geographic Anomaly"} <= set(check.rule_versions)
    observation = FraudObservation.objects.get()
    assert observation.card_fingerprint == body["payment_method"]["card"]["fingerprint"]
    assert (observation.ip_address, observation.latitude) == ("198.51.100.4", PARIS["latitude"])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"client_ip": "not-an-ip"}, "client_ip"),
        ({"client_location": {"latitude": 91, "longitude": 0}}, "client_location[latitude]"),
        ({"client_location": {"latitude": "48.8", "longitude": 2.3}}, "client_location[latitude]"),
        ({"client_location": {"latitude": 48.8}}, "client_location[longitude]"),
    ],
)
def test_bad_client_ip_or_location_is_a_400_and_creates_nothing(api_client, fields, param):
    response = create_payment(api_client, **fields)

    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
    assert not Payment.objects.exists()
