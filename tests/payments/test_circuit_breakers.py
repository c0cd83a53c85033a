"""Circuit breakers: opened by the error rate, probed when half-open, overridden by
operators, shared through the database/cache, and obeyed by every gateway call."""

import datetime as dt

import pytest
from django.utils import timezone

from audit.models import AuditLog
from payments.gateways.interface import GatewayUnavailableError
from payments.gateways.sandbox import SandboxGateway
from payments.models import BreakerOverride, BreakerState, GatewayBreaker, Payment
from payments.services.breakers import (
    breaker_allows,
    breaker_cache_forget,
    breaker_override,
    breaker_record,
    breaker_view,
    recent_success_rate,
)
from tests.conftest import create_payment

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_window(settings):
    settings.BREAKER_MIN_CALLS = 4
    settings.BREAKER_ERROR_RATE = 0.5
    settings.BREAKER_WINDOW_SECONDS = 60
    settings.BREAKER_OPEN_SECONDS = 30


def test_errors_above_the_rate_open_the_breaker_and_it_is_recorded(small_window):
    for succeeded in (True, True, False):
        breaker_record("flaky", succeeded=succeeded)
    assert breaker_allows("flaky")  # 1 error in 3 calls: below the minimum of 4 calls

    breaker_record("flaky", succeeded=False)  # 2 of 4 failed: 50 %

    assert not breaker_allows("flaky")
    row = GatewayBreaker.objects.get(pk="flaky")
    assert (row.state, row.updated_by) == (BreakerState.OPEN, "breaker-rules")
    assert "2 of the last 4 calls failed" in row.reason
    changed = AuditLog.objects.get(action="gateway_breaker.state_changed", resource_id="flaky")
    assert changed.new_value["state"] == "open"


def test_successes_alone_never_open_it(small_window):
    for _ in range(50):
        breaker_record("flaky", succeeded=True)

    assert breaker_allows("flaky")
    assert not GatewayBreaker.objects.filter(pk="flaky").exists()


def _cool_down(gateway):
    """Move the open breaker's opening past the 30 s cool-down."""
    GatewayBreaker.objects.filter(pk=gateway).update(
        opened_at=timezone.now() - dt.timedelta(seconds=31)
    )
    breaker_cache_forget(gateway)


def test_an_open_breaker_turns_half_open_after_the_cool_down_and_a_probe_decides(small_window):
    for _ in range(4):
        breaker_record("flaky", succeeded=False)
    _cool_down("flaky")

    assert breaker_view("flaky").effective(timezone.now()) == BreakerState.HALF_OPEN
    assert breaker_allows("flaky")
    breaker_record("flaky", succeeded=False)  # the probe failed: open again, for 30 s more
    assert not breaker_allows("flaky")

    _cool_down("flaky")
    breaker_record("flaky", succeeded=True)  # this probe succeeded: closed

    assert GatewayBreaker.objects.get(pk="flaky").state == BreakerState.CLOSED
    assert breaker_allows("flaky")


def test_an_operator_override_beats_the_rules_both_ways(small_window):
    breaker_override("flaky", BreakerOverride.FORCED_OPEN, reason="INC-42")
    assert not breaker_allows("flaky")
    for _ in range(10):
        breaker_record("flaky", succeeded=True)
    assert not breaker_allows("flaky")  # successes do not close a forced-open breaker

    breaker_override("flaky", BreakerOverride.FORCED_CLOSED, reason="known noisy")
    for _ in range(10):
        breaker_record("flaky", succeeded=False)
    assert breaker_allows("flaky")

    breaker_override("flaky", BreakerOverride.NONE)
    assert breaker_view("flaky").effective(timezone.now()) == BreakerState.CLOSED
    actions = AuditLog.objects.filter(action="gateway_breaker.overridden").values_list(
        "new_value__override", flat=True
    )
    assert sorted(actions) == ["", "forced_closed", "forced_open"]


def test_a_payment_through_an_open_breaker_is_not_sent_and_fails_as_unavailable(
    api_client, gateway_calls
):
    breaker_override("sandbox", BreakerOverride.FORCED_OPEN)

    response = create_payment(api_client)

    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "gateway_unavailable"
    assert error["payment"]["error_code"] == "gateway_circuit_open"
    assert gateway_calls.counts["authorize"] == 0
    assert Payment.objects.get().status == "FAILED"


def test_gateway_errors_from_payments_trip_the_breaker(api_client, small_window, monkeypatch):
    def unreachable(self, request):
        raise GatewayUnavailableError("connection refused")

    monkeypatch.setattr(SandboxGateway, "authorize", unreachable)

    codes = [create_payment(api_client).json()["error"]["payment"]["error_code"] for _ in range(6)]

    assert codes[:4] == ["gateway_unavailable"] * 4
    assert codes[4:] == ["gateway_circuit_open"] * 2


def test_an_unreachable_cache_falls_back_to_the_database(api_client, monkeypatch):
    from django.core.cache import caches

    breaker_override("sandbox", BreakerOverride.FORCED_OPEN)

    def unreachable(*args, **kwargs):
        raise ConnectionError("cache down")

    for method in ("get", "set", "delete"):
        monkeypatch.setattr(caches["default"], method, unreachable)

    assert not breaker_allows("sandbox")
    assert create_payment(api_client).status_code == 503
    breaker_override("sandbox", BreakerOverride.NONE)
    assert create_payment(api_client).status_code == 201


def test_failures_older_than_the_window_stop_counting(small_window, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("payments.services.breakers.time.monotonic", lambda: clock[0])
    for _ in range(3):
        breaker_record("aging", succeeded=False)
    assert recent_success_rate("aging") == 0.0

    clock[0] += 61  # those three failures leave the 60 s window
    for _ in range(3):
        breaker_record("aging", succeeded=True)
    breaker_record("aging", succeeded=False)

    assert breaker_allows("aging")  # 1 failure in 4 calls, not 4 in 7
    assert recent_success_rate("aging") == 0.75


def test_a_success_under_a_closed_breaker_does_not_read_the_state_again(small_window, monkeypatch):
    seen = breaker_view("steady")
    reads = []
    monkeypatch.setattr(
        "payments.services.breakers.cache.get", lambda key, *args: reads.append(key)
    )

    breaker_record("steady", succeeded=True, seen=seen)

    assert reads == []


def test_a_probe_seen_half_open_still_closes_the_breaker_when_it_succeeds(small_window):
    for _ in range(4):
        breaker_record("flaky", succeeded=False)
    _cool_down("flaky")
    seen = breaker_view("flaky")
    assert seen.effective(timezone.now()) == BreakerState.HALF_OPEN

    breaker_record("flaky", succeeded=True, seen=seen)

    assert GatewayBreaker.objects.get(pk="flaky").state == BreakerState.CLOSED


def test_a_failure_is_counted_against_the_current_state_whatever_was_seen(small_window):
    seen = breaker_view("flaky")
    for _ in range(4):
        breaker_record("flaky", succeeded=False, seen=seen)

    assert GatewayBreaker.objects.get(pk="flaky").state == BreakerState.OPEN
