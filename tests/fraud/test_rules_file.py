"""Rules files in the runbook's shape: parsed, validated before anything changes, applied in
one transaction with versions and audit rows."""

import importlib
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditLog
from fraud.models import FraudRule, RuleAction, RuleKind
from fraud.rules_file import RulesFileError, parse_rules

RUNBOOK_RULES = Path(__file__).resolve().parents[2] / "fraud" / "runbook-rules.yaml"
RULE_A = "rules:\n  - name: A\n"


def test_the_runbook_rules_file_parses_into_the_three_threat_rules():
    specs = {spec.name: spec for spec in parse_rules(RUNBOOK_RULES.read_text())}

    brute = specs["Brute Force Detection"]
    assert (brute.kind, brute.action) == (RuleKind.BRUTE_FORCE, RuleAction.BLOCK_IP)
    assert brute.parameters == {"max_count": 5, "window_seconds": 300, "block_seconds": 3600}
    velocity = specs["Unusual Transaction Pattern"]
    assert (velocity.kind, velocity.action) == (RuleKind.VELOCITY, RuleAction.FLAG_FOR_REVIEW)
    assert velocity.parameters == {"max_count": 100, "window_seconds": 3600, "per": "card"}
    geo = specs["Geographic Anomaly"]
    assert (geo.kind, geo.action) == (RuleKind.GEO_ANOMALY, RuleAction.REQUIRE_VERIFICATION)
    assert geo.parameters == {"max_distance_km": 1000.0, "window_seconds": 3600}


def test_the_migration_creates_exactly_the_runbook_rules_file():
    migration = importlib.import_module("fraud.migrations.0002_runbook_rules")
    from_file = {
        spec.name: (spec.kind, spec.parameters, spec.action, spec.priority)
        for spec in parse_rules(RUNBOOK_RULES.read_text())
    }

    from_migration = {
        rule["name"]: (rule["kind"], rule["parameters"], rule["action"], rule["priority"])
        for rule in migration.RUNBOOK_RULES
    }
    assert from_migration == from_file


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("rules: [", "not valid YAML at line 1"),
        ("other: []", "top-level 'rules:' list"),
        (
            RULE_A + "    condition: transaction_count > 5 within 1h from same_card\n",
            "rules[0] (A).action: required",
        ),
        (
            RULE_A + "    condition: transaction_count > 5 within 1h from same_planet\n"
            "    action: block\n",
            "'per' must be one of",
        ),
        (
            RULE_A + "    condition: transaction_count > 5 within 1 fortnight from same_card\n"
            "    action: block\n",
            "rules[0] (A).condition: cannot read condition",
        ),
        (
            RULE_A + "    condition: amount > 100 USD\n    action: shrug\n",
            "rules[0] (A).action: unknown action 'shrug'",
        ),
        (
            RULE_A + "    condition: amount > 100 USD\n    action: block_ip_for_1h\n",
            "block_ip is only for failed_auth_attempts",
        ),
        (
            RULE_A + "    condition: amount > 100 USD\n    action: block\n    priority: high\n",
            "rules[0] (A).priority",
        ),
        (
            RULE_A + "    condition: amount > 100 USD\n    action: block\n    colour: red\n",
            "unknown field(s) colour",
        ),
        (
            RULE_A + "    condition: amount > 100 USD\n    action: block\n"
            "  - name: A\n    condition: amount > 5 EUR\n    action: block\n",
            "rules[1] (A): duplicate name",
        ),
    ],
)
def test_a_bad_rules_file_says_where_it_is_wrong(text, problem):
    with pytest.raises(RulesFileError) as error:
        parse_rules(text)

    assert any(problem in line for line in error.value.problems), error.value.problems


def test_every_problem_of_a_file_is_reported_at_once():
    text = (
        "rules:\n"
        "  - name: A\n    condition: nonsense\n    action: block\n"
        "  - name: B\n    condition: amount > 100 USD\n    action: nope\n"
    )

    with pytest.raises(RulesFileError) as error:
        parse_rules(text)

    where = [line.split(":")[0] for line in error.value.problems]
    assert where == ["rules[0] (A).condition", "rules[1] (B).action"]


def update(path: Path, *options: str) -> str:
    out = io.StringIO()
    call_command("update_fraud_rules", str(path), *options, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_update_fraud_rules_shows_the_diff_and_applies_it_with_versions_and_audit(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n"
        "  - name: Unusual Transaction Pattern\n"
        "    condition: transaction_count > 20 within 1h from same_card\n"
        "    action: flag_for_review\n"
        "    priority: 50\n"
        "  - name: Big tickets\n"
        "    condition: amount > 1000000 USD\n"
        "    action: block\n"
    )
    before = FraudRule.objects.get(name="Unusual Transaction Pattern").version

    output = update(rules)

    assert "changed  Unusual Transaction Pattern" in output
    assert '"max_count": 100' in output and '"max_count": 20' in output
    assert "added  Big tickets" in output
    changed = FraudRule.objects.get(name="Unusual Transaction Pattern")
    assert changed.version == before + 1
    assert changed.parameters["max_count"] == 20
    assert changed.updated_by.startswith("cli:")
    audit = AuditLog.objects.get(
        action="fraud_rule.changed", resource_id="Unusual Transaction Pattern"
    )
    assert audit.old_value["parameters"]["max_count"] == 100
    assert audit.new_value["parameters"]["max_count"] == 20
    assert FraudRule.objects.get(name="Big tickets").parameters == {"thresholds": {"USD": 1000000}}
    assert "unchanged  Big tickets" in update(rules)


@pytest.mark.django_db
def test_update_fraud_rules_dry_run_changes_nothing(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        RULE_A.replace("A", "Big tickets") + "    condition: amount > 5 USD\n    action: block\n"
    )

    output = update(rules, "--dry-run")

    assert "added  Big tickets" in output and "Dry run" in output
    assert not FraudRule.objects.filter(name="Big tickets").exists()


@pytest.mark.django_db
def test_a_bad_rules_file_changes_nothing_and_the_command_says_where(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n"
        "  - name: Unusual Transaction Pattern\n"
        "    condition: transaction_count > 1 within 1h from same_card\n"
        "    action: block\n"
        "  - name: Broken\n"
        "    condition: amount > lots\n"
        "    action: block\n"
    )
    snapshot = list(FraudRule.objects.values_list("name", "version", "parameters", "action"))

    with pytest.raises(CommandError, match=r"rules\[1\] \(Broken\)\.condition"):
        update(rules)

    assert (
        list(FraudRule.objects.values_list("name", "version", "parameters", "action")) == snapshot
    )


@pytest.mark.django_db
def test_disable_missing_turns_off_rules_the_file_omits(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        RULE_A.replace("A", "Big tickets") + "    condition: amount > 5 USD\n    action: block\n"
    )

    update(rules, "--disable-missing")

    enabled = set(FraudRule.objects.filter(enabled=True).values_list("name", flat=True))
    assert enabled == {"Big tickets"}
    assert AuditLog.objects.filter(action="fraud_rule.disabled").count() == 3
