"""Card testing: many declines, or many small attempts, from one IP or customer in a window."""

import pytest

from fraud.models import FraudObservation, ObservationKind, RuleKind
from fraud.rules_file import parse_rules
from fraud.services import fraud_rules_apply
from tests.conftest import create_payment

DECLINES_RULE = (
    "rules:\n  - name: Card testing declines\n"
    "    condition: declined_attempts > 2 within 10m from same_ip\n    action: block\n"
)
SMALL_RULE = (
    "rules:\n  - name: Card testing small\n"
    "    condition: small_attempts > 3 within 10m from same_customer (amount <= 100)\n"
    "    action: flag_for_review\n"
)


def test_card_testing_conditions_parse():
    declines, small = parse_rules(DECLINES_RULE)[0], parse_rules(SMALL_RULE)[0]

    assert declines.kind == small.kind == RuleKind.CARD_TESTING
    assert declines.parameters == {"per": "ip", "window_seconds": 600, "max_declines": 2}
    assert small.parameters == {
        "per": "customer",
        "window_seconds": 600,
        "max_small_attempts": 3,
        "small_amount": 100,
    }


@pytest.mark.django_db
def test_repeated_declines_from_one_ip_block_its_next_attempt(api_client):
    fraud_rules_apply(parse_rules(DECLINES_RULE), disable_missing=True)
    for _ in range(3):
        declined = create_payment(api_client, "4000000000000002", client_ip="198.51.100.66")
        assert declined.status_code == 402
        assert declined.json()["error"]["code"] == "card_declined"

    next_attempt = create_payment(api_client, client_ip="198.51.100.66")
    other_ip = create_payment(api_client, client_ip="198.51.100.67")

    assert next_attempt.status_code == 402
    assert next_attempt.json()["error"]["code"] == "fraud_blocked"
    assert other_ip.status_code == 201
    declines = FraudObservation.objects.filter(kind=ObservationKind.DECLINE)
    assert declines.count() == 3
    assert set(declines.values_list("ip_address", flat=True)) == {"198.51.100.66"}


@pytest.mark.django_db
def test_many_small_attempts_by_one_customer_are_held_for_review(api_client):
    fraud_rules_apply(parse_rules(SMALL_RULE), disable_missing=True)
    customer = api_client.post("/api/v1/customers", {"email": "t@example.com"}, format="json")
    customer_id = customer.json()["id"]
    statuses = [
        create_payment(api_client, amount=100, customer=customer_id).json()["status"]
        for _ in range(4)
    ]
    large = create_payment(api_client, amount=5_000, customer=customer_id)

    assert statuses == ["COMPLETED", "COMPLETED", "COMPLETED", "UNDER_REVIEW"]
    assert large.json()["status"] == "COMPLETED"  # not a small attempt


@pytest.mark.django_db
def test_declines_do_not_count_as_attempts_for_velocity(api_client):
    fraud_rules_apply(
        parse_rules(
            "rules:\n  - name: v\n    condition: transaction_count > 3 within 1h from same_ip\n"
            "    action: block\n"
        ),
        disable_missing=True,
    )
    create_payment(api_client, "4000000000000002", client_ip="198.51.100.70")
    create_payment(api_client, "4000000000000002", client_ip="198.51.100.70")

    third = create_payment(api_client, client_ip="198.51.100.70")

    # 2 attempts before it (their 2 declines are not attempts) + itself = 3, not more than 3
    assert third.status_code == 201
    assert create_payment(api_client, client_ip="198.51.100.70").status_code == 402
