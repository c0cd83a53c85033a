"""The runbook's three threat-detection rules, enabled by default (ops-guide, Security
Monitoring > Threat Detection Rules)."""

from django.db import migrations

RUNBOOK_RULES = [
    {
        "name": "Brute Force Detection",
        "kind": "brute_force",
        "condition": "failed_auth_attempts > 5 within 5m from same_ip",
        "parameters": {"max_count": 5, "window_seconds": 300, "block_seconds": 3600},
        "action": "block_ip",
        "priority": 10,
    },
    {
        "name": "Unusual Transaction Pattern",
        "kind": "velocity",
        "condition": "transaction_count > 100 within 1h from same_card",
        "parameters": {"max_count": 100, "window_seconds": 3600, "per": "card"},
        "action": "flag_for_review",
        "priority": 50,
    },
    {
        "name": "Geographic Anomaly",
        "kind": "geo_anomaly",
        "condition": "transaction_location distance > 1000km from last_transaction within 1h",
        "parameters": {"max_distance_km": 1000, "window_seconds": 3600},
        "action": "require_additional_verification",
        "priority": 60,
    },
]


def create_rules(apps, schema_editor):
    FraudRule = apps.get_model("fraud", "FraudRule")
    for rule in RUNBOOK_RULES:
        FraudRule.objects.get_or_create(
            name=rule["name"], defaults={**rule, "updated_by": "migration"}
        )


def remove_rules(apps, schema_editor):
    FraudRule = apps.get_model("fraud", "FraudRule")
    FraudRule.objects.filter(name__in=[rule["name"] for rule in RUNBOOK_RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("fraud", "0001_initial")]

    operations = [migrations.RunPython(create_rules, remove_rules)]
