"""The engine's rule kinds, one by one, on fixed facts (no database)."""

import pytest

from fraud.engine import (
    FraudContext,
    HistoryFacts,
    PreviousLocation,
    evaluate,
    haversine_km,
)
from fraud.models import FraudRule, RuleAction, RuleKind

PARIS = (48.8566, 2.3522)
NEW_YORK = (40.7128, -74.0060)
LONDON = (51.5074, -0.1278)


def rule(kind: str, action: str, name: str = "r", version: int = 1, **parameters) -> FraudRule:
    return FraudRule(name=name, kind=kind, action=action, parameters=parameters, version=version)


def context(**fields) -> FraudContext:
    defaults = {"merchant_id": "mer_1", "payment_id": "pay_1", "amount": 1000, "currency": "USD"}
    return FraudContext(**(defaults | fields))


def test_haversine_distance_paris_new_york_is_about_5837_km():
    assert haversine_km(*PARIS, *NEW_YORK) == pytest.approx(5837, abs=5)


def test_velocity_fires_when_this_attempt_makes_more_than_max_count():
    velocity = rule(
        RuleKind.VELOCITY, RuleAction.FLAG_FOR_REVIEW, max_count=3, window_seconds=3600, per="card"
    )

    at_limit = evaluate(context(), [velocity], HistoryFacts(prior_counts={"r": 2}))
    over = evaluate(context(), [velocity], HistoryFacts(prior_counts={"r": 3}))

    assert at_limit.action == RuleAction.ALLOW and at_limit.hits == []
    assert over.action == RuleAction.FLAG_FOR_REVIEW
    assert over.hits[0].observed == {"count": 4, "per": "card", "window_seconds": 3600}


def test_velocity_without_the_key_it_counts_by_does_not_fire():
    velocity = rule(
        RuleKind.VELOCITY, RuleAction.BLOCK, max_count=0, window_seconds=60, per="email"
    )

    assert evaluate(context(), [velocity], HistoryFacts()).action == RuleAction.ALLOW


def test_geo_anomaly_fires_beyond_the_distance_and_not_within_it():
    geo = rule(
        RuleKind.GEO_ANOMALY,
        RuleAction.REQUIRE_VERIFICATION,
        max_distance_km=1000,
        window_seconds=3600,
    )
    paris_ten_minutes_ago = HistoryFacts(previous_locations={"r": PreviousLocation(*PARIS, 600)})

    far = evaluate(
        context(latitude=NEW_YORK[0], longitude=NEW_YORK[1]), [geo], paris_ten_minutes_ago
    )
    near = evaluate(context(latitude=LONDON[0], longitude=LONDON[1]), [geo], paris_ten_minutes_ago)

    assert far.action == RuleAction.REQUIRE_VERIFICATION
    assert far.hits[0].observed["distance_km"] == pytest.approx(5837, abs=5)
    assert far.hits[0].observed["seconds_since_previous"] == 600
    assert near.action == RuleAction.ALLOW  # Paris to London is about 344 km


def test_geo_anomaly_needs_a_location_on_both_sides():
    geo = rule(RuleKind.GEO_ANOMALY, RuleAction.BLOCK, max_distance_km=1, window_seconds=3600)

    no_previous = evaluate(context(latitude=1.0, longitude=1.0), [geo], HistoryFacts())
    no_current = evaluate(
        context(), [geo], HistoryFacts(previous_locations={"r": PreviousLocation(*PARIS, 1)})
    )

    assert no_previous.action == no_current.action == RuleAction.ALLOW


def test_amount_threshold_is_per_currency_in_minor_units():
    threshold = rule(
        RuleKind.AMOUNT_THRESHOLD, RuleAction.BLOCK, thresholds={"USD": 50_000, "JPY": 50_000}
    )

    assert evaluate(context(amount=50_000), [threshold], HistoryFacts()).action == RuleAction.ALLOW
    assert evaluate(context(amount=50_001), [threshold], HistoryFacts()).action == RuleAction.BLOCK
    assert evaluate(context(amount=10**9, currency="EUR"), [threshold], HistoryFacts()).hits == []


def test_first_payment_threshold_applies_only_to_a_card_never_seen():
    first = rule(
        RuleKind.FIRST_PAYMENT_AMOUNT, RuleAction.FLAG_FOR_REVIEW, thresholds={"USD": 10_000}
    )
    big = context(amount=20_000, card_fingerprint="fp")

    new_card = evaluate(big, [first], HistoryFacts(card_seen_before=False))
    known_card = evaluate(big, [first], HistoryFacts(card_seen_before=True))

    assert new_card.action == RuleAction.FLAG_FOR_REVIEW
    assert new_card.hits[0].observed["first_payment_of_card"] is True
    assert known_card.action == RuleAction.ALLOW


def test_blocklist_rule_can_be_limited_to_some_kinds():
    any_list = rule(RuleKind.BLOCKLIST, RuleAction.BLOCK, name="any")
    emails_only = rule(RuleKind.BLOCKLIST, RuleAction.BLOCK, name="emails", kinds=["email"])
    facts = HistoryFacts(blocklist_hits=[("ip", "203.0.113.0/24")])

    decision = evaluate(context(), [any_list, emails_only], facts)

    assert [hit.rule for hit in decision.hits] == ["any"]
    assert decision.hits[0].observed == {"matched": ["ip"]}


def test_the_strongest_action_wins_and_every_fired_rule_is_explained():
    review = rule(
        RuleKind.AMOUNT_THRESHOLD,
        RuleAction.FLAG_FOR_REVIEW,
        name="review",
        version=3,
        thresholds={"USD": 1},
    )
    block = rule(
        RuleKind.AMOUNT_THRESHOLD, RuleAction.BLOCK, name="block", version=7, thresholds={"USD": 2}
    )
    disabled = rule(RuleKind.AMOUNT_THRESHOLD, RuleAction.BLOCK, name="off", thresholds={"USD": 0})
    disabled.enabled = False

    decision = evaluate(context(amount=100), [review, block, disabled], HistoryFacts())

    assert decision.action == RuleAction.BLOCK
    assert decision.score == 100
    assert [(hit.rule, hit.version, hit.action) for hit in decision.hits] == [
        ("review", 3, RuleAction.FLAG_FOR_REVIEW),
        ("block", 7, RuleAction.BLOCK),
    ]
