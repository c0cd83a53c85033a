"""The risk engine: pure functions from (context, rules, history facts) to a decision.

No database here (history is read by `fraud.history`), so every rule kind is easy to test
and a decision is reproducible from what the FraudCheck stored.
"""

import math
from dataclasses import dataclass, field
from typing import Any

from fraud.models import FraudRule, RuleAction, RuleKind

# Strength of each action: the strongest fired action decides; weights add up to the score.
_STRENGTH = {
    RuleAction.ALLOW: 0,
    RuleAction.FLAG_FOR_REVIEW: 1,
    RuleAction.REQUIRE_VERIFICATION: 2,
    RuleAction.BLOCK: 3,
}
_WEIGHT = {
    RuleAction.ALLOW: 0,
    RuleAction.FLAG_FOR_REVIEW: 40,
    RuleAction.REQUIRE_VERIFICATION: 60,
    RuleAction.BLOCK: 100,
}
EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class FraudContext:
    """What the engine knows about one payment attempt."""

    merchant_id: str
    payment_id: str
    amount: int
    currency: str
    card_fingerprint: str = ""
    card_bin: str = ""
    card_country: str = ""
    customer_id: str = ""
    email: str = ""
    ip_address: str | None = None
    billing_country: str = ""
    latitude: float | None = None
    longitude: float | None = None

    def key(self, per: str) -> str:
        """The value a velocity rule counts by (`card`, `customer`, `email`, `ip`)."""
        return {
            "card": self.card_fingerprint,
            "customer": self.customer_id,
            "email": self.email.lower(),
            "ip": self.ip_address or "",
        }[per]


@dataclass(frozen=True)
class PreviousLocation:
    latitude: float
    longitude: float
    seconds_ago: float


@dataclass(frozen=True)
class HistoryFacts:
    """What the history says, keyed by rule name where it depends on the rule's window."""

    prior_counts: dict[str, int] = field(default_factory=dict)
    previous_locations: dict[str, PreviousLocation | None] = field(default_factory=dict)
    card_seen_before: bool = False
    blocklist_hits: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class RuleHit:
    rule: str
    version: int
    kind: str
    action: str
    observed: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "version": self.version,
            "kind": self.kind,
            "action": self.action,
            "observed": self.observed,
        }


@dataclass(frozen=True)
class Decision:
    action: str
    score: int
    hits: list[RuleHit]


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def _velocity(rule: FraudRule, context: FraudContext, facts: HistoryFacts) -> dict[str, Any] | None:
    prior = facts.prior_counts.get(rule.name)
    if prior is None:  # nothing to count by (no email, no IP, …)
        return None
    count = prior + 1  # this attempt included
    if count > rule.parameters["max_count"]:
        return {
            "count": count,
            "per": rule.parameters["per"],
            "window_seconds": rule.parameters["window_seconds"],
        }
    return None


def _geo(rule: FraudRule, context: FraudContext, facts: HistoryFacts) -> dict[str, Any] | None:
    previous = facts.previous_locations.get(rule.name)
    if previous is None or context.latitude is None or context.longitude is None:
        return None
    distance = haversine_km(
        previous.latitude, previous.longitude, context.latitude, context.longitude
    )
    if distance > rule.parameters["max_distance_km"]:
        return {
            "distance_km": round(distance, 1),
            "seconds_since_previous": int(previous.seconds_ago),
        }
    return None


def _amount(rule: FraudRule, context: FraudContext, facts: HistoryFacts) -> dict[str, Any] | None:
    threshold = rule.parameters["thresholds"].get(context.currency)
    if threshold is not None and context.amount > threshold:
        return {"amount": context.amount, "currency": context.currency, "threshold": threshold}
    return None


def _first_payment(
    rule: FraudRule, context: FraudContext, facts: HistoryFacts
) -> dict[str, Any] | None:
    if facts.card_seen_before or not context.card_fingerprint:
        return None
    observed = _amount(rule, context, facts)
    return {**observed, "first_payment_of_card": True} if observed else None


def _card_testing(
    rule: FraudRule, context: FraudContext, facts: HistoryFacts
) -> dict[str, Any] | None:
    prior = facts.prior_counts.get(rule.name)
    if prior is None:
        return None
    parameters = rule.parameters
    observed = {"per": parameters["per"], "window_seconds": parameters["window_seconds"]}
    if "max_declines" in parameters:
        # Declines already seen (this attempt has no outcome yet).
        return {"declines": prior, **observed} if prior > parameters["max_declines"] else None
    if context.amount > parameters["small_amount"]:
        return None
    count = prior + 1
    if count > parameters["max_small_attempts"]:
        return {"small_attempts": count, "small_amount": parameters["small_amount"], **observed}
    return None


def _blocklist(
    rule: FraudRule, context: FraudContext, facts: HistoryFacts
) -> dict[str, Any] | None:
    kinds = set(rule.parameters.get("kinds") or [])
    hits = [(kind, value) for kind, value in facts.blocklist_hits if not kinds or kind in kinds]
    return {"matched": [kind for kind, _ in hits]} if hits else None


_EVALUATORS = {
    RuleKind.VELOCITY: _velocity,
    RuleKind.GEO_ANOMALY: _geo,
    RuleKind.AMOUNT_THRESHOLD: _amount,
    RuleKind.FIRST_PAYMENT_AMOUNT: _first_payment,
    RuleKind.BLOCKLIST: _blocklist,
    RuleKind.CARD_TESTING: _card_testing,
}
PAYMENT_RULE_KINDS = frozenset(_EVALUATORS)


def evaluate(context: FraudContext, rules: list[FraudRule], facts: HistoryFacts) -> Decision:
    """Run every enabled payment rule; the strongest action among those that fired wins."""
    hits = []
    for rule in rules:
        evaluator = _EVALUATORS.get(rule.kind)
        observed = evaluator(rule, context, facts) if evaluator and rule.enabled else None
        if observed is not None:
            hits.append(RuleHit(rule.name, rule.version, rule.kind, rule.action, observed))
    action = max((hit.action for hit in hits), key=_STRENGTH.__getitem__, default=RuleAction.ALLOW)
    score = min(100, sum(_WEIGHT[hit.action] for hit in hits))
    return Decision(action=action, score=score, hits=hits)
