"""Operators enable, disable and edit fraud rules in the back office (versioned and audited
like a rules file), and dry-run a rule over the last days before enabling it."""

import datetime as dt

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.utils import timezone

from audit.models import AuditLog
from fraud import dry_run
from fraud.dry_run import MAX_EXAMPLES, rule_dry_run
from fraud.models import (
    BlocklistEntry,
    BlocklistKind,
    FraudCheck,
    FraudObservation,
    FraudRule,
    ObservationKind,
    RuleKind,
)
from fraud.rules import RuleError, RuleSpec
from fraud.services import fraud_rules_apply
from tests.conftest import create_payment, operator_login

CHANGELIST = "/admin/fraud/fraudrule/"
VELOCITY_RULE = "Unusual Transaction Pattern"  # the runbook's rules, in every test database
GEO_RULE = "Geographic Anomaly"
PARIS = {"latitude": 48.8566, "longitude": 2.3522}
NEW_YORK = {"latitude": 40.7128, "longitude": -74.0060}
LONDON = {"latitude": 51.5074, "longitude": -0.1278}
CARD_A = "a1b2c3d4" + "a" * 56
CARD_B = "b1b2c3d4" + "b" * 56
CARD_C = "c1b2c3d4" + "c" * 56


def operator(*, can_change: bool) -> tuple[User, Client]:
    user = User.objects.create_user("rules-operator", password="a-long-password-123", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_fraudrule"))
    if can_change:
        user.user_permissions.add(Permission.objects.get(codename="change_fraudrule"))
    client = Client()
    operator_login(client, user)
    return user, client


def rule_named(name: str) -> FraudRule:
    return FraudRule.objects.get(name=name)


def edit_url(rule: FraudRule) -> str:
    return f"{CHANGELIST}{rule.pk}/edit-rule/"


def dry_run_url(rule: FraudRule) -> str:
    return f"{CHANGELIST}{rule.pk}/dry-run/"


def edit_form(rule: FraudRule, **changes: object) -> dict[str, object]:
    """What the edit page posts for `rule` unchanged, with `changes`."""
    form = {
        "condition": rule.condition,
        "kind": "",
        "parameters": "",
        "action": rule.action,
        "priority": rule.priority,
        "enabled": "on" if rule.enabled else "",
        "version": rule.version,
        "days": 7,
        "_save": "Save",
    }
    return {key: value for key, value in (form | changes).items() if value is not None}


def observe(minutes_ago: float, *, amount: int = 1_000, currency: str = "USD", **fields) -> None:
    """One screened payment in the engine's history, `minutes_ago`."""
    observation = FraudObservation.objects.create(
        merchant_id="mer_test", amount=amount, currency=currency, **fields
    )
    FraudObservation.objects.filter(pk=observation.pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=minutes_ago)
    )


def row_counts() -> dict[str, int]:
    tables = ["fraud_checks", "fraud_rules", "fraud_observations", "audit_log"]
    with connection.cursor() as cursor:
        counts = {}
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
            counts[table] = cursor.fetchone()[0]
    return counts


# Enable / disable


@pytest.mark.django_db
def test_an_operator_who_may_change_rules_disables_and_enables_them_versioned_and_audited():
    user, client = operator(can_change=True)
    rule = rule_named(GEO_RULE)
    selection = {"_selected_action": [rule.pk]}

    disabled = client.post(CHANGELIST, {"action": "disable_rules", **selection}, follow=True)

    assert f"Now disabled (new versions): {GEO_RULE}" in disabled.content.decode()
    after_disable = rule_named(GEO_RULE)
    assert (after_disable.enabled, after_disable.version) == (False, rule.version + 1)
    assert after_disable.updated_by == f"user:{user.pk}"
    audit = AuditLog.objects.get(action="fraud_rule.changed", resource_id=GEO_RULE)
    assert (audit.user_id, audit.actor_type) == (f"user:{user.pk}", "user")
    assert (audit.old_value["enabled"], audit.new_value["enabled"]) == (True, False)
    assert audit.new_value["version"] == rule.version + 1
    assert audit.new_value["parameters"] == rule.parameters  # only `enabled` changed

    client.post(CHANGELIST, {"action": "enable_rules", **selection})

    after_enable = rule_named(GEO_RULE)
    assert (after_enable.enabled, after_enable.version) == (True, rule.version + 2)
    assert AuditLog.objects.filter(action="fraud_rule.changed", resource_id=GEO_RULE).count() == 2


@pytest.mark.django_db
def test_enabling_a_rule_that_is_already_enabled_changes_nothing():
    _, client = operator(can_change=True)
    rule = rule_named(VELOCITY_RULE)

    response = client.post(
        CHANGELIST, {"action": "enable_rules", "_selected_action": [rule.pk]}, follow=True
    )

    assert f"Already enabled, unchanged: {VELOCITY_RULE}" in response.content.decode()
    assert rule_named(VELOCITY_RULE).version == rule.version
    assert not AuditLog.objects.filter(resource_type="fraud_rule").exists()


@pytest.mark.django_db
def test_a_stored_rule_that_no_longer_validates_is_not_toggled_and_the_operator_is_told():
    _, client = operator(can_change=True)
    broken = FraudRule.objects.create(
        name="broken", kind="velocity", parameters={"max_count": 3}, action="block"
    )

    response = client.post(
        CHANGELIST, {"action": "disable_rules", "_selected_action": [broken.pk]}, follow=True
    )

    assert "Nothing changed: &#x27;window_seconds&#x27; must be" in response.content.decode()
    assert rule_named("broken").enabled is True
    assert not AuditLog.objects.filter(resource_type="fraud_rule").exists()


@pytest.mark.django_db
def test_staff_who_may_only_view_rules_can_neither_toggle_nor_edit_them():
    _, client = operator(can_change=False)
    rule = rule_named(GEO_RULE)

    listing = client.get(CHANGELIST)
    toggled = client.post(CHANGELIST, {"action": "disable_rules", "_selected_action": [rule.pk]})
    edit_page = client.get(edit_url(rule))
    edited = client.post(edit_url(rule), edit_form(rule, priority=1))
    change_page = client.get(f"{CHANGELIST}{rule.pk}/change/")

    assert listing.status_code == 200
    assert b"disable_rules" not in listing.content and b"enable_rules" not in listing.content
    assert toggled.status_code in (200, 302)
    assert edit_page.status_code == edited.status_code == 403
    assert b"edit-rule/" not in change_page.content and b"dry-run/" in change_page.content
    unchanged = rule_named(GEO_RULE)
    assert (unchanged.enabled, unchanged.priority, unchanged.version) == (
        True,
        rule.priority,
        rule.version,
    )
    assert not AuditLog.objects.filter(resource_type="fraud_rule").exists()


# Edit


@pytest.mark.django_db
def test_the_change_page_links_to_editing_and_dry_run_for_an_operator_who_may_change_rules():
    _, client = operator(can_change=True)
    rule = rule_named(VELOCITY_RULE)

    change_page = client.get(f"{CHANGELIST}{rule.pk}/change/").content.decode()
    edit_page = client.get(edit_url(rule))

    assert edit_url(rule) in change_page and dry_run_url(rule) in change_page
    assert edit_page.status_code == 200
    assert edit_page.context["form"]["condition"].value() == rule.condition
    assert b'name="_save"' in edit_page.content and b'name="_dry_run"' in edit_page.content
    assert b"null</textarea>" not in edit_page.content  # no parameters box to fill


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"condition": "transaction_count > lots"}, "condition", "cannot read condition"),
        (
            {"condition": "transaction_count > 5 within 1h from same_planet"},
            "condition",
            "'per' must be one of",
        ),
        ({"action": "shrug"}, "action", "unknown action 'shrug'"),
        ({"action": "block_ip_for_1h"}, "condition", "block_ip is only for failed_auth_attempts"),
        ({"priority": 5000}, "priority", "less than or equal to 1000"),
        ({"kind": "velocity"}, "condition", "either a condition or kind + parameters"),
        ({"condition": "", "kind": "velocity", "parameters": "{nope"}, "parameters", "JSON"),
        (
            {"condition": "", "kind": "velocity", "parameters": '{"max_count": 3}'},
            "parameters",
            "'window_seconds' must be an integer",
        ),
        ({"condition": "", "parameters": '{"max_count": 3}'}, "kind", "choose a kind"),
    ],
)
def test_the_edit_form_rejects_a_bad_rule_with_a_field_error_and_changes_nothing(
    changes, field, message
):
    _, client = operator(can_change=True)
    rule = rule_named(VELOCITY_RULE)

    response = client.post(edit_url(rule), edit_form(rule, **changes))

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert any(message in error for error in errors.get(field, [])), errors
    assert b"nothing was saved" in response.content
    assert rule_named(VELOCITY_RULE).version == rule.version
    assert not AuditLog.objects.filter(resource_type="fraud_rule").exists()


@pytest.mark.django_db
def test_the_edit_form_saves_a_good_rule_as_a_new_version_with_its_audit_row():
    user, client = operator(can_change=True)
    rule = rule_named(VELOCITY_RULE)

    response = client.post(
        edit_url(rule),
        edit_form(rule, condition="transaction_count > 20 within 10m from same_ip", priority=40),
    )

    assert response.status_code == 302
    assert response["Location"] == f"{CHANGELIST}{rule.pk}/change/"
    saved = rule_named(VELOCITY_RULE)
    assert saved.version == rule.version + 1
    assert saved.parameters == {"max_count": 20, "window_seconds": 600, "per": "ip"}
    assert (saved.condition, saved.priority) == (
        "transaction_count > 20 within 10m from same_ip",
        40,
    )
    assert saved.updated_by == f"user:{user.pk}"
    audit = AuditLog.objects.get(action="fraud_rule.changed", resource_id=VELOCITY_RULE)
    assert audit.user_id == f"user:{user.pk}"
    assert audit.old_value["parameters"] == {
        "max_count": 100,
        "window_seconds": 3600,
        "per": "card",
    }
    assert audit.old_value["priority"] == rule.priority
    assert audit.new_value["parameters"] == saved.parameters
    assert audit.new_value["version"] == saved.version
    page = client.get(response["Location"]).content.decode()
    assert f"Saved {VELOCITY_RULE} as version {saved.version}" in page


@pytest.mark.django_db
def test_the_edit_form_takes_kind_and_parameters_instead_of_a_condition():
    _, client = operator(can_change=True)
    rule = rule_named(GEO_RULE)

    client.post(
        edit_url(rule),
        edit_form(
            rule,
            condition="",
            kind="geo_anomaly",
            parameters='{"max_distance_km": 500, "window_seconds": 1800}',
            enabled="",
        ),
    )

    saved = rule_named(GEO_RULE)
    assert saved.parameters == {"max_distance_km": 500, "window_seconds": 1800}
    assert (saved.condition, saved.enabled, saved.version) == ("", False, rule.version + 1)


@pytest.mark.django_db
def test_the_brute_force_rule_keeps_its_block_duration_in_the_action():
    _, client = operator(can_change=True)
    rule = FraudRule.objects.get(kind="brute_force")

    page = client.get(edit_url(rule))
    client.post(edit_url(rule), edit_form(rule, action="block_ip_for_2h"))

    assert page.context["form"]["action"].value() == "block_ip_for_1h"
    assert rule_named(rule.name).parameters["block_seconds"] == 7200


@pytest.mark.django_db
def test_saving_over_a_change_made_since_the_form_was_opened_is_refused():
    _, client = operator(can_change=True)
    rule = rule_named(VELOCITY_RULE)
    stale_form = edit_form(rule, priority=7)
    fraud_rules_apply(
        [
            RuleSpec(
                VELOCITY_RULE,
                "velocity",
                {"max_count": 50, "window_seconds": 3600, "per": "card"},
                "flag_for_review",
                priority=rule.priority,
            )
        ]
    )

    response = client.post(edit_url(rule), stale_form)

    assert response.status_code == 200
    assert "while you were editing it" in response.content.decode()
    kept = rule_named(VELOCITY_RULE)
    assert (kept.parameters["max_count"], kept.priority) == (50, rule.priority)


@pytest.mark.django_db
def test_saving_an_unchanged_rule_keeps_its_version():
    _, client = operator(can_change=True)
    rule = rule_named(GEO_RULE)

    response = client.post(edit_url(rule), edit_form(rule), follow=True)

    assert "nothing changed" in response.content.decode()
    assert rule_named(GEO_RULE).version == rule.version


# Dry run, kind by kind


def spec(kind: str, action: str = "flag_for_review", **parameters) -> RuleSpec:
    return RuleSpec("candidate", kind, parameters, action)


@pytest.mark.django_db
def test_velocity_dry_run_fires_on_the_payment_that_exceeds_max_count_in_the_window():
    for minutes_ago in (10, 6, 1):  # three payments of one card in ten minutes
        observe(minutes_ago, card_fingerprint=CARD_A)
    for minutes_ago in (200, 100):  # two of another card, two hours apart
        observe(minutes_ago, card_fingerprint=CARD_B)
    observe(5)  # no card: nothing to count by

    result = rule_dry_run(spec("velocity", max_count=2, window_seconds=3600, per="card"))

    assert (result.payments, result.fired) == (6, 1)
    (example,) = result.examples
    assert example.card == CARD_A[:8]
    assert example.observed == {"count": 3, "per": "card", "window_seconds": 3600}
    wider = rule_dry_run(spec("velocity", max_count=1, window_seconds=3 * 3600, per="card"))
    assert wider.fired == 3  # A's second and third, B's second


@pytest.mark.django_db
def test_velocity_dry_run_counts_the_payments_just_before_the_period_as_the_engine_did():
    observe(24 * 60 + 20, email="repeat@example.com")  # just before the last day
    observe(24 * 60 - 10, email="repeat@example.com")  # 30 minutes later, inside it

    one_day = rule_dry_run(spec("velocity", max_count=1, window_seconds=3600, per="email"), days=1)

    assert (one_day.payments, one_day.fired) == (1, 1)


@pytest.mark.django_db
def test_amount_threshold_dry_run_fires_per_currency_above_the_threshold():
    observe(30, amount=50_000)
    observe(20, amount=50_001, card_fingerprint=CARD_A)
    observe(10, amount=10**9, currency="EUR")
    observe(8 * 24 * 60, amount=10**9)  # before the last 7 days

    result = rule_dry_run(spec("amount_threshold", thresholds={"USD": 50_000, "JPY": 1}))

    assert (result.payments, result.fired) == (3, 1)
    assert result.examples[0].observed == {"amount": 50_001, "currency": "USD", "threshold": 50_000}
    assert (result.examples[0].amount, result.examples[0].currency) == (50_001, "USD")


@pytest.mark.django_db
def test_first_payment_dry_run_fires_on_a_cards_first_payment_over_the_threshold_only():
    observe(50, amount=20_000, card_fingerprint=CARD_A)  # first of A, over: fires
    observe(40, amount=30_000, card_fingerprint=CARD_A)  # second of A
    observe(10 * 24 * 60, amount=100, card_fingerprint=CARD_B)  # B seen ten days ago
    observe(30, amount=20_000, card_fingerprint=CARD_B)
    observe(20, amount=500, card_fingerprint=CARD_C)  # first of C, under

    result = rule_dry_run(spec("first_payment_amount", thresholds={"USD": 10_000}))

    assert result.fired == 1
    assert result.examples[0].card == CARD_A[:8]
    assert result.examples[0].observed["first_payment_of_card"] is True


@pytest.mark.django_db
def test_geo_anomaly_dry_run_fires_on_a_card_5800_km_away_within_the_hour():
    observe(50, card_fingerprint=CARD_A, **PARIS)
    observe(20, card_fingerprint=CARD_A, **NEW_YORK)  # 5,837 km in 30 minutes: fires
    observe(10, card_fingerprint=CARD_A)  # no location: neither fires nor hides New York
    observe(5, card_fingerprint=CARD_A, **NEW_YORK)  # right where it was
    observe(300, card_fingerprint=CARD_B, **PARIS)
    observe(100, card_fingerprint=CARD_B, **NEW_YORK)  # too long after
    observe(60, card_fingerprint=CARD_C, **PARIS)
    observe(30, card_fingerprint=CARD_C, **LONDON)  # about 344 km

    result = rule_dry_run(spec("geo_anomaly", max_distance_km=1000, window_seconds=3600))

    assert result.fired == 1
    observed = result.examples[0].observed
    assert 5830 < observed["distance_km"] < 5845
    assert 1795 <= observed["seconds_since_previous"] <= 1800


@pytest.mark.django_db
def test_card_testing_dry_run_counts_declines_and_small_attempts_per_key():
    for minutes_ago in (9, 8, 7):  # three declined attempts from one IP
        observe(minutes_ago, ip_address="198.51.100.66")
        observe(minutes_ago - 0.5, ip_address="198.51.100.66", kind=ObservationKind.DECLINE)
    observe(5, ip_address="198.51.100.66")  # after three declines: fires
    observe(4, ip_address="198.51.100.67")
    for minutes_ago in (30, 29, 28, 27):  # four small attempts of one customer
        observe(minutes_ago, amount=100, customer_id="cus_tester")
    observe(26, amount=5_000, customer_id="cus_tester")  # not small

    declines = rule_dry_run(
        spec("card_testing", "block", per="ip", window_seconds=600, max_declines=2)
    )
    small = rule_dry_run(
        spec(
            "card_testing",
            per="customer",
            window_seconds=600,
            max_small_attempts=3,
            small_amount=100,
        )
    )

    assert (declines.payments, declines.fired) == (10, 1)  # declines are not payments
    assert declines.examples[0].observed == {"declines": 3, "per": "ip", "window_seconds": 600}
    assert small.fired == 1
    assert small.examples[0].observed["small_attempts"] == 4


@pytest.mark.django_db
def test_blocklist_dry_run_fires_on_current_entries_of_the_rules_kinds():
    BlocklistEntry.objects.create(kind=BlocklistKind.EMAIL, value="fraudster@example.com")
    BlocklistEntry.objects.create(kind=BlocklistKind.IP, value="203.0.113.0/24")
    BlocklistEntry.objects.create(kind=BlocklistKind.IP, value="not an address")  # ignored
    BlocklistEntry.objects.create(
        kind=BlocklistKind.EMAIL,
        value="reformed@example.com",
        expires_at=timezone.now() - dt.timedelta(days=1),
    )
    observe(30, email="fraudster@example.com", card_fingerprint=CARD_A)
    observe(20, email="ok@example.com", ip_address="203.0.113.77")
    observe(15, email="fraudster@example.com", ip_address="203.0.113.8")
    observe(10, email="reformed@example.com", ip_address="198.51.100.1")

    any_list = rule_dry_run(spec("blocklist", "block"))
    emails_only = rule_dry_run(spec("blocklist", "block", kinds=["email"]))

    assert any_list.fired == 3
    assert [example.observed["matched"] for example in any_list.examples] == [
        ["email", "ip"],
        ["ip"],
        ["email"],
    ]
    assert emails_only.fired == 2


@pytest.mark.django_db
def test_a_dry_run_shows_at_most_the_latest_examples():
    for minutes_ago in range(MAX_EXAMPLES + 5):
        observe(minutes_ago + 1, amount=2_000)

    result = rule_dry_run(spec("amount_threshold", thresholds={"USD": 1_000}))

    assert result.fired == MAX_EXAMPLES + 5
    assert len(result.examples) == MAX_EXAMPLES
    assert result.examples[0].created_at > result.examples[-1].created_at


@pytest.mark.django_db
def test_a_dry_run_covers_one_to_ninety_days_and_only_payment_rules():
    amount = spec("amount_threshold", thresholds={"USD": 1})

    for days in (0, 91):
        with pytest.raises(RuleError, match="1 to 90 days"):
            rule_dry_run(amount, days=days)
    with pytest.raises(RuleError, match="no dry run"):
        rule_dry_run(
            RuleSpec(
                "bf",
                "brute_force",
                {"max_count": 5, "window_seconds": 300, "block_seconds": 60},
                "block_ip",
            )
        )
    assert rule_dry_run(amount, days=90).days == 90


@pytest.mark.django_db
def test_a_dry_run_that_takes_too_long_is_cancelled_and_says_so(admin_client, monkeypatch):
    slow = RuleKind.AMOUNT_THRESHOLD
    monkeypatch.setattr(dry_run, "STATEMENT_TIMEOUT", "50ms")
    monkeypatch.setitem(
        dry_run._REPLAYS,
        slow,
        lambda parameters, period: dry_run._Replay(
            "SELECT 1 AS id, now() AS created_at, 1 AS amount, 'USD' AS currency, "
            "'' AS card_fingerprint, '{}'::jsonb AS observed FROM pg_sleep(1)",
            {},
        ),
    )
    rule = FraudRule.objects.create(
        name="big", kind=slow, parameters={"thresholds": {"USD": 1}}, action="block"
    )

    page = admin_client.get(dry_run_url(rule))

    assert page.status_code == 200
    assert "the replay took longer than 50ms; try fewer days" in page.content.decode()
    assert rule_named("big").version == 1  # and the connection still works


@pytest.mark.django_db
def test_the_dry_run_agrees_with_what_the_engine_decided_on_the_same_payments(api_client):
    candidates = [
        RuleSpec(
            "velocity", "velocity", {"max_count": 2, "window_seconds": 3600, "per": "card"}, "allow"
        ),
        RuleSpec("geo", "geo_anomaly", {"max_distance_km": 1000, "window_seconds": 3600}, "allow"),
        RuleSpec("big", "amount_threshold", {"thresholds": {"USD": 100_000}}, "allow"),
        RuleSpec("first", "first_payment_amount", {"thresholds": {"USD": 5_000}}, "allow"),
        RuleSpec("lists", "blocklist", {}, "allow"),
        RuleSpec(
            "declines",
            "card_testing",
            {"per": "ip", "window_seconds": 600, "max_declines": 1},
            "allow",
        ),
    ]
    fraud_rules_apply(candidates, disable_missing=True)  # "allow": recorded, nothing held
    BlocklistEntry.objects.create(kind=BlocklistKind.IP, value="203.0.113.0/24")
    create_payment(api_client, amount=9_000, client_location=PARIS)
    create_payment(api_client, amount=100, client_location=LONDON)
    create_payment(api_client, amount=200_000, client_location=NEW_YORK)
    create_payment(api_client, "5555555555554444", amount=100, client_ip="203.0.113.77")
    create_payment(api_client, "5555555555554444", amount=6_000, client_location=PARIS)
    for _ in range(3):
        create_payment(api_client, "4000000000000002", client_ip="198.51.100.66")  # declined

    for candidate in candidates:
        decided = sum(
            any(hit["rule"] == candidate.name for hit in check.fired)
            for check in FraudCheck.objects.all()
        )
        assert decided > 0, candidate.name
        assert rule_dry_run(candidate).fired == decided, candidate.name


# Dry run in the back office


@pytest.mark.django_db
def test_the_dry_run_page_shows_the_count_and_masked_examples_to_a_viewer():
    _, client = operator(can_change=False)
    rule = rule_named(VELOCITY_RULE)
    fraud_rules_apply(
        [
            RuleSpec(
                VELOCITY_RULE,
                "velocity",
                {"max_count": 2, "window_seconds": 3600, "per": "card"},
                "flag_for_review",
                enabled=False,
            )
        ]
    )
    for minutes_ago in (10, 6, 1):
        observe(minutes_ago, card_fingerprint=CARD_A)

    page = client.get(dry_run_url(rule), {"days": 3})

    assert page.status_code == 200
    assert page.context["dry_run"].fired == 1
    content = page.content.decode()
    assert "Would have fired on <strong>1</strong> of 3" in content
    assert CARD_A[:8] in content and CARD_A[:9] not in content
    assert "count: 3, per: card, window_seconds: 3600" in content


@pytest.mark.django_db
@pytest.mark.parametrize("days", ["0", "91", "many"])
def test_the_dry_run_page_refuses_a_period_outside_one_to_ninety_days(admin_client, days):
    rule = rule_named(VELOCITY_RULE)

    page = admin_client.get(dry_run_url(rule), {"days": days})

    assert page.status_code == 200
    assert page.context["dry_run"] is None
    assert page.context["dry_run_form"].errors["days"]


@pytest.mark.django_db
def test_the_brute_force_rule_has_no_dry_run_and_says_so(admin_client):
    rule = FraudRule.objects.get(kind="brute_force")

    page = admin_client.get(dry_run_url(rule))

    assert page.status_code == 200
    assert "No dry run: brute_force rules have no dry run" in page.content.decode()


@pytest.mark.django_db
def test_the_edit_forms_dry_run_replays_the_unsaved_rule_and_writes_nothing():
    _, client = operator(can_change=True)
    rule = rule_named(VELOCITY_RULE)
    for minutes_ago in (10, 6, 1):
        observe(minutes_ago, card_fingerprint=CARD_A)
    BlocklistEntry.objects.create(kind=BlocklistKind.CARD_FINGERPRINT, value=CARD_A)
    before = row_counts()

    edited = edit_form(rule, condition="transaction_count > 2 within 1h from same_card")
    del edited["_save"]
    response = client.post(edit_url(rule), {**edited, "_dry_run": "Dry run", "days": 2})
    saved_rule_page = client.get(dry_run_url(rule_named(GEO_RULE)), {"days": 90})
    blocklist_page = client.get(
        dry_run_url(
            FraudRule.objects.create(name="lists", kind="blocklist", action="block", enabled=False)
        )
    )
    before["fraud_rules"] += 1  # the rule this test just created

    assert response.status_code == 200
    assert response.context["dry_run"].fired == 1
    assert response.context["dry_run"].days == 2
    assert saved_rule_page.status_code == blocklist_page.status_code == 200
    assert blocklist_page.context["dry_run"].fired == 3
    assert row_counts() == before
    assert rule_named(VELOCITY_RULE).version == rule.version
    assert rule_named(VELOCITY_RULE).parameters["max_count"] == 100
