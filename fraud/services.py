"""Fraud screening of a payment, and changes to the rules."""

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from prometheus_client import Counter

from audit.services import audit_record
from config.db.build import build
from fraud.engine import PAYMENT_RULE_KINDS, Decision, FraudContext, evaluate
from fraud.geo import locate
from fraud.history import history_facts
from fraud.models import FraudCheck, FraudObservation, FraudRule, ObservationKind, RuleAction
from fraud.rules import RuleSpec, validate_parameters

FRAUD_DETECTIONS = Counter(
    "payment_fraud_detections_total", "Payments on which a fraud rule fired", ["action", "rule"]
)
RULES_CACHE_SECONDS = 5.0
_rules_cache: tuple[float, list[FraudRule]] | None = None


def active_payment_rules() -> list[FraudRule]:
    """Enabled payment rules by priority, cached per process for a few seconds (rule edits in
    another process take effect within RULES_CACHE_SECONDS)."""
    global _rules_cache
    if _rules_cache is None or time.monotonic() - _rules_cache[0] > RULES_CACHE_SECONDS:
        rules = list(FraudRule.objects.filter(enabled=True, kind__in=PAYMENT_RULE_KINDS))
        _rules_cache = (time.monotonic(), rules)
    return _rules_cache[1]


def rules_cache_clear() -> None:
    global _rules_cache
    _rules_cache = None


@dataclass(frozen=True)
class Screening:
    """A decision plus the rows that record it; the caller writes the rows in the same
    statement as the payment (`config.db.statements.insert_rows`)."""

    decision: Decision
    check: FraudCheck
    observation: FraudObservation

    @property
    def action(self) -> str:
        return self.decision.action

    @property
    def rows(self) -> list[Any]:
        return [self.check, self.observation]


def fraud_screen(context: FraudContext) -> Screening:
    if context.latitude is None:
        located = locate(
            location=None, ip_address=context.ip_address, billing_country=context.billing_country
        )
        if located:
            context = dataclasses.replace(context, latitude=located[0], longitude=located[1])
    rules = active_payment_rules()
    decision = (
        evaluate(context, rules, history_facts(context, rules))
        if rules
        else Decision(RuleAction.ALLOW, 0, [])
    )
    for hit in decision.hits:
        FRAUD_DETECTIONS.labels(action=hit.action, rule=hit.rule).inc()
    check = build(
        FraudCheck,
        merchant_id=context.merchant_id,
        payment_id=context.payment_id,
        decision=decision.action,
        score=decision.score,
        fired=[hit.as_dict() for hit in decision.hits],
        rule_versions={rule.name: rule.version for rule in rules},
    )
    observation = _observation(context, ObservationKind.ATTEMPT)
    return Screening(decision=decision, check=check, observation=observation)


def fraud_decline_observation(context: FraudContext) -> FraudObservation:
    """An unsaved decline record, for the caller to write with the payment's outcome (what
    card-testing rules count)."""
    return _observation(context, ObservationKind.DECLINE)


def _observation(context: FraudContext, kind: str) -> FraudObservation:
    located = kind == ObservationKind.ATTEMPT  # where a decline happened adds nothing
    return build(
        FraudObservation,
        kind=kind,
        merchant_id=context.merchant_id,
        card_fingerprint=context.card_fingerprint,
        customer_id=context.customer_id,
        email=context.email.lower(),
        ip_address=context.ip_address,
        latitude=context.latitude if located else None,
        longitude=context.longitude if located else None,
        amount=context.amount,
        currency=context.currency,
    )


@dataclass(frozen=True)
class RuleChange:
    name: str
    change: str  # added | changed | disabled | unchanged
    old: dict[str, Any] | None
    new: dict[str, Any] | None


def _rule_state(rule: FraudRule | RuleSpec) -> dict[str, Any]:
    return {
        "kind": rule.kind,
        "condition": rule.condition,
        "parameters": rule.parameters,
        "action": rule.action,
        "priority": rule.priority,
        "enabled": rule.enabled,
    }


def fraud_rules_plan(specs: list[RuleSpec], *, disable_missing: bool = False) -> list[RuleChange]:
    """What applying `specs` would change (nothing is written)."""
    for spec in specs:
        validate_parameters(spec.kind, spec.parameters, spec.action)
    existing = {rule.name: rule for rule in FraudRule.objects.all()}
    changes = []
    for spec in specs:
        rule = existing.pop(spec.name, None)
        new = _rule_state(spec)
        if rule is None:
            changes.append(RuleChange(spec.name, "added", None, new))
        else:
            old = _rule_state(rule)
            changes.append(
                RuleChange(spec.name, "unchanged" if old == new else "changed", old, new)
            )
    if disable_missing:
        for rule in existing.values():
            if rule.enabled:
                old = _rule_state(rule)
                changes.append(RuleChange(rule.name, "disabled", old, {**old, "enabled": False}))
    return changes


@transaction.atomic
def fraud_rules_apply(specs: list[RuleSpec], *, disable_missing: bool = False) -> list[RuleChange]:
    """Apply `specs` in one transaction: every rule validated first, each change versioned
    and audited with its old and new values."""
    from audit.context import current_context

    actor = current_context().actor_id
    # Lock first, then compare: a concurrent edit is either fully before or fully after us.
    locked = {rule.name: rule for rule in FraudRule.objects.select_for_update()}
    changes = fraud_rules_plan(specs, disable_missing=disable_missing)
    for change in changes:
        if change.change == "unchanged":
            continue
        rule = locked.get(change.name) or FraudRule(name=change.name, version=0)
        for field, value in change.new.items():
            setattr(rule, field, value)
        rule.version += 1
        rule.updated_by = actor
        rule.save()
        audit_record(
            action=f"fraud_rule.{change.change}",
            resource_type="fraud_rule",
            resource_id=rule.name,
            old=change.old,
            new={**change.new, "version": rule.version},
        )
    transaction.on_commit(rules_cache_clear)
    return changes


class RuleChangedMeanwhile(Exception):
    """The rule got a new version after the operator opened it."""

    def __init__(self, rule: FraudRule) -> None:
        super().__init__(
            f"{rule.name} was changed by {rule.updated_by or 'someone'} while you were editing "
            f"it (now version {rule.version}); reload the page to see that change first."
        )


def rule_spec(rule: FraudRule, **changes: Any) -> RuleSpec:
    """A saved rule as a spec for `fraud_rules_apply`, with `changes` applied."""
    spec = RuleSpec(
        name=rule.name,
        kind=rule.kind,
        parameters=rule.parameters,
        action=rule.action,
        condition=rule.condition,
        priority=rule.priority,
        enabled=rule.enabled,
    )
    return dataclasses.replace(spec, **changes)


def _locked_rules() -> dict[int, FraudRule]:
    """Every rule, locked in the order `fraud_rules_apply` locks them (two operators cannot
    deadlock), so that a spec built from a rule cannot undo a change made since it was read."""
    return {rule.pk: rule for rule in FraudRule.objects.select_for_update()}


@transaction.atomic
def rules_set_enabled(*, rule_ids: list[int], enabled: bool) -> list[RuleChange]:
    locked = _locked_rules()
    specs = [rule_spec(locked[pk], enabled=enabled) for pk in sorted(rule_ids) if pk in locked]
    return fraud_rules_apply(specs)


@transaction.atomic
def rule_edit_apply(*, spec: RuleSpec, rule_id: int, expected_version: int) -> RuleChange:
    rule = _locked_rules().get(rule_id)
    if rule is None:
        raise FraudRule.DoesNotExist(f"fraud rule {rule_id} no longer exists")
    if rule.version != expected_version:
        raise RuleChangedMeanwhile(rule)
    (change,) = fraud_rules_apply([spec])
    return change
