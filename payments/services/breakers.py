"""Circuit breakers, one per gateway, shared by every process.

Each process counts its own recent calls per gateway (a sliding window in memory: no write on
the payment path); when its window shows too many gateway errors it opens the breaker for
everyone. The state lives in `gateway_breakers` (the record, audited) and is read through
the cache: Redis when configured, so every process sees a change at once; otherwise this
process's memory for a second. Open → after BREAKER_OPEN_SECONDS, half-open: calls go through
as probes; the first success closes the breaker, a failure opens it again. An operator's
override (forced open / forced closed) beats the rules.

Declines are answers, not errors: only GatewayError outcomes (unreachable, timed out, 5xx)
count against a gateway.
"""

import collections
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from payments import metrics
from payments.models import BreakerOverride, BreakerState, GatewayBreaker

logger = logging.getLogger("payments.CircuitBreaker")

_CACHE_KEY = "gateway-breaker:{}"
_CACHE_SECONDS = 1
_STATE_VALUE = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


@dataclass(frozen=True)
class BreakerView:
    gateway: str
    state: str  # what the rules set
    override: str
    opened_at: dt.datetime | None

    def effective(self, now: dt.datetime) -> str:
        """What callers obey: the override, else the state (an open breaker whose time is
        up is half-open)."""
        if self.override == BreakerOverride.FORCED_OPEN:
            return BreakerState.OPEN
        if self.override == BreakerOverride.FORCED_CLOSED:
            return BreakerState.CLOSED
        cooled_down = self.opened_at is not None and now - self.opened_at >= dt.timedelta(
            seconds=settings.BREAKER_OPEN_SECONDS
        )
        if self.state == BreakerState.OPEN and cooled_down:
            return BreakerState.HALF_OPEN
        return self.state

    def allows(self, now: dt.datetime) -> bool:
        """Whether a call may go out now (closed, or half-open: a probe)."""
        return self.effective(now) != BreakerState.OPEN


class _Window:
    """This process's recent outcomes per gateway: (monotonic time, succeeded), with a running
    count of the failures among them (every payment records one outcome: counting the window
    on each call would cost O(calls in the window))."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, collections.deque[tuple[float, bool]]] = collections.defaultdict(
            collections.deque
        )
        self._errors: collections.Counter[str] = collections.Counter()

    def _expire(self, gateway: str, now: float) -> collections.deque[tuple[float, bool]]:
        calls = self._calls[gateway]
        horizon = now - settings.BREAKER_WINDOW_SECONDS
        while calls and calls[0][0] < horizon:
            _, ok = calls.popleft()
            if not ok:
                self._errors[gateway] -= 1
        return calls

    def add(self, gateway: str, succeeded: bool) -> tuple[int, int]:
        """Record one outcome; return (calls, errors) within the window."""
        now = time.monotonic()
        with self._lock:
            calls = self._expire(gateway, now)
            calls.append((now, succeeded))
            if not succeeded:
                self._errors[gateway] += 1
            return len(calls), self._errors[gateway]

    def success_rate(self, gateway: str) -> float | None:
        with self._lock:
            if gateway not in self._calls:
                return None
            calls = self._expire(gateway, time.monotonic())
            if not calls:
                return None
            return 1 - self._errors[gateway] / len(calls)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()
            self._errors.clear()


_window = _Window()


def breaker_view(gateway: str) -> BreakerView:
    """The shared state, through the cache; a cache outage falls back to the database (an
    unreachable Redis must not stop payments)."""
    key = _CACHE_KEY.format(gateway)
    try:
        view = cache.get(key)
    except Exception:
        logger.warning("Breaker cache unavailable; asking the database", exc_info=True)
        view = None
    if view is None:
        row = GatewayBreaker.objects.filter(pk=gateway).first()
        view = BreakerView(
            gateway=gateway,
            state=row.state if row else BreakerState.CLOSED,
            override=row.override if row else BreakerOverride.NONE,
            opened_at=row.opened_at if row else None,
        )
        try:
            cache.set(key, view, timeout=_CACHE_SECONDS)
        except Exception:
            logger.warning("Breaker cache unavailable; not caching", exc_info=True)
    return view


def breaker_allows(gateway: str) -> bool:
    """Whether a call to `gateway` may go out now (closed, or half-open: a probe)."""
    return breaker_view(gateway).allows(timezone.now())


def breaker_record(gateway: str, *, succeeded: bool, seen: BreakerView | None = None) -> None:
    """Count one call's outcome, and move the shared state when the rules say so. `seen`:
    the view the caller obeyed just before the call. A success under a closed breaker moves
    nothing, so the state is not read again (one cache read, with Redis a round trip, less
    per payment)."""
    calls, errors = _window.add(gateway, succeeded)
    if succeeded and seen is not None and seen.effective(timezone.now()) == BreakerState.CLOSED:
        return
    view = breaker_view(gateway)
    if view.override:
        return
    effective = view.effective(timezone.now())
    if effective == BreakerState.HALF_OPEN:
        if succeeded:
            _set_state(gateway, BreakerState.CLOSED, "a probe succeeded")
        else:
            _set_state(gateway, BreakerState.OPEN, "a probe failed")
    elif effective == BreakerState.CLOSED and not succeeded and _tripped(calls, errors):
        _set_state(
            gateway,
            BreakerState.OPEN,
            f"{errors} of the last {calls} calls failed within {settings.BREAKER_WINDOW_SECONDS} s",
        )


def _tripped(calls: int, errors: int) -> bool:
    return calls >= settings.BREAKER_MIN_CALLS and errors / calls >= settings.BREAKER_ERROR_RATE


def recent_success_rate(gateway: str) -> float | None:
    """This process's success rate for `gateway` over the window (None: no calls yet)."""
    return _window.success_rate(gateway)


def _set_state(gateway: str, state: str, reason: str) -> None:
    def move(row: GatewayBreaker) -> bool:
        if row.state == state and state != BreakerState.OPEN:  # re-opening restarts the clock
            return False
        row.state = state
        row.opened_at = timezone.now() if state == BreakerState.OPEN else None
        return True

    _change(
        gateway, move, action="gateway_breaker.state_changed", by="breaker-rules", reason=reason
    )


def breaker_override(gateway: str, override: str, *, reason: str = "") -> GatewayBreaker:
    """An operator forces the breaker open or closed, or gives it back to the rules
    (BreakerOverride.NONE, which also closes it: the operator has looked)."""
    if override not in BreakerOverride.values:
        raise ValueError(f"unknown override {override!r}")

    def set_override(row: GatewayBreaker) -> bool:
        row.override = override
        if override == BreakerOverride.NONE:
            row.state, row.opened_at = BreakerState.CLOSED, None
        return True

    return _change(
        gateway, set_override, action="gateway_breaker.overridden", by="operator", reason=reason
    )


def _change(
    gateway: str, mutate: Callable[[GatewayBreaker], bool], *, action: str, by: str, reason: str
) -> GatewayBreaker:
    """Lock the breaker's row, let `mutate` change it (or decline: False), save and audit in
    one transaction, then publish the new state to every process."""
    with transaction.atomic():
        row, _ = GatewayBreaker.objects.select_for_update().get_or_create(pk=gateway)
        old = {"state": row.state, "override": row.override}
        if not mutate(row):
            return row
        row.reason, row.updated_by = reason[:300], by
        row.save()
        audit_record(
            action=action,
            resource_type="gateway_breaker",
            resource_id=gateway,
            old=old,
            new={"state": row.state, "override": row.override, "reason": reason},
        )
    _published(row)
    return row


def breaker_cache_forget(gateway: str) -> None:
    try:
        cache.delete(_CACHE_KEY.format(gateway))
    except Exception:
        # Cached views live _CACHE_SECONDS at most: the change shows within a second anyway.
        logger.warning("Breaker cache unavailable; not invalidated", exc_info=True)


def _published(row: GatewayBreaker) -> None:
    """Make the new state visible to every process now (a cache delete) and as a metric."""
    breaker_cache_forget(row.gateway)
    view = breaker_view(row.gateway)
    metrics.GATEWAY_BREAKER_STATE.labels(row.gateway).set(
        _STATE_VALUE[view.effective(timezone.now())]
    )


def breaker_window_clear() -> None:
    """Forget this process's counts (tests, and after an operator resets a breaker)."""
    _window.clear()
