"""/metrics exposes the runbook's payment metrics (ops-guide: Prometheus Metrics)."""

import re

import pytest

from tests.conftest import create_payment


def sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(key) == value for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.django_db
def test_payments_move_the_runbook_metrics(client, api_client):
    before = client.get("/metrics").content.decode()

    create_payment(api_client)
    create_payment(api_client, "4000000000000002")
    create_payment(api_client, "4000000000000119")
    after = client.get("/metrics").content.decode()

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("payment_attempts_total", gateway="sandbox") == 3
    assert delta("payment_success_total", gateway="sandbox") == 1
    assert delta("payment_processing_total", gateway="sandbox", status="FAILED") == 2
    assert delta("payment_processing_duration_seconds_count", gateway="sandbox") == 3
    assert (
        delta("payment_gateway_errors_total", gateway="sandbox", error_type="processing_error") == 1
    )


@pytest.mark.django_db
def test_fraud_detections_are_counted_by_action_and_rule(client, api_client):
    from fraud.rules import RuleSpec
    from fraud.services import fraud_rules_apply

    fraud_rules_apply([RuleSpec("big", "amount_threshold", {"thresholds": {"USD": 1}}, "block")])
    before = sample(
        client.get("/metrics").content.decode(),
        "payment_fraud_detections_total",
        action="block",
        rule="big",
    )

    create_payment(api_client)

    after = sample(
        client.get("/metrics").content.decode(),
        "payment_fraud_detections_total",
        action="block",
        rule="big",
    )
    assert after - before == 1
