"""The back office's home: the runbook's health numbers over the last hour, day and week,
read from the database (cached a minute), with the runbook's alert thresholds."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from webhooks.dead_letters import redis_list_length

WINDOWS = {"hour": dt.timedelta(hours=1), "day": dt.timedelta(days=1), "week": dt.timedelta(days=7)}
# The runbook's alerts: success rate below 90 %, p99 above 3 s, gateway error rate above 0.5 %.
SUCCESS_RATE_MIN = 0.90
P99_MAX_MS = 3000
ERROR_RATE_MAX = 0.005
CACHE_SECONDS = 60


@dataclass
class Dashboard:
    window: str
    payments: int = 0
    success_rate: float | None = None
    by_gateway: list[tuple[str, int]] = field(default_factory=list)
    latency_p50_ms: float | None = None
    latency_p99_ms: float | None = None
    gateway_calls: int = 0
    gateway_errors: list[tuple[str, int]] = field(default_factory=list)
    error_rate: float | None = None
    fraud: list[tuple[str, int]] = field(default_factory=list)
    refunds: list[tuple[str, int]] = field(default_factory=list)
    webhooks: dict[str, int | None] = field(default_factory=dict)
    hourly_success: list[tuple[str, float | None]] = field(default_factory=list)

    @property
    def bars(self) -> list[dict[str, Any]]:
        """The hourly success rates as SVG bars: 25 px per hour, 100 px for 100 %, the
        baseline at y=110 (the template draws the 90 % line at y=20)."""
        return [
            {
                "x": index * 25,
                "y": 110 - round(rate * 100),
                "height": round(rate * 100),
                "label": f"{hour}: {rate:.1%}",
            }
            for index, (hour, rate) in enumerate(self.hourly_success)
            if rate is not None
        ]

    @property
    def alerts(self) -> list[str]:
        found = []
        if self.success_rate is not None and self.success_rate < SUCCESS_RATE_MIN:
            found.append(f"success rate {self.success_rate:.1%} is below 90 %")
        if self.latency_p99_ms is not None and self.latency_p99_ms > P99_MAX_MS:
            found.append(f"p99 gateway time {self.latency_p99_ms:.0f} ms is above 3 s")
        if self.error_rate is not None and self.error_rate > ERROR_RATE_MAX:
            found.append(f"gateway error rate {self.error_rate:.2%} is above 0.5 %")
        return found


def dashboard(window: str, *, now: dt.datetime | None = None) -> Dashboard:
    if window not in WINDOWS:
        window = "day"
    key = f"dashboard:{window}"
    cached = cache.get(key) if now is None else None
    if cached is not None:
        return cached
    now = now or timezone.now()
    since = now - WINDOWS[window]
    board = Dashboard(window=window)
    statuses = dict(
        _rows("SELECT status, count(*) FROM payments WHERE created_at >= %s GROUP BY 1", since)
    )
    board.payments = sum(statuses.values())
    settled = statuses.get("COMPLETED", 0) + statuses.get("AUTHORIZED", 0)
    decided = settled + statuses.get("FAILED", 0)
    board.success_rate = settled / decided if decided else None
    board.by_gateway = _rows(
        "SELECT gateway, count(*) FROM payments WHERE created_at >= %s GROUP BY 1 ORDER BY 2 DESC",
        since,
    )
    p50, p99, calls = _rows(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms), "
        "percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms), count(*) "
        "FROM transactions WHERE created_at >= %s",
        since,
    )[0]
    board.latency_p50_ms, board.latency_p99_ms, board.gateway_calls = p50, p99, calls
    board.gateway_errors = _rows(
        "SELECT error_code, count(*) FROM transactions WHERE created_at >= %s "
        "AND status = 'FAILED' GROUP BY 1 ORDER BY 2 DESC",
        since,
    )
    errors = sum(count for _, count in board.gateway_errors)
    board.error_rate = errors / calls if calls else None
    board.fraud = _rows(
        "SELECT decision, count(*) FROM fraud_checks WHERE created_at >= %s "
        "AND decision <> 'allow' GROUP BY 1 ORDER BY 2 DESC",
        since,
    )
    board.refunds = _rows(
        "SELECT status, count(*) FROM refunds WHERE created_at >= %s GROUP BY 1 ORDER BY 1",
        since,
    )
    board.webhooks = {
        # None without Redis (the embedded demo runs tasks in-process: no queue).
        "queue depth (webhook_queue)": redis_list_length("webhook_queue"),
        "dead letters (webhook_dlq)": redis_list_length("webhook_dlq"),
        **dict(
            _rows(
                "SELECT 'outbound ' || status, count(*) FROM webhook_deliveries "
                "WHERE status IN ('retrying', 'dead') AND resolved_at IS NULL GROUP BY 1",
            )
        ),
    }
    board.hourly_success = _hourly_success(now)
    cache.set(key, board, CACHE_SECONDS)
    return board


def _hourly_success(now: dt.datetime) -> list[tuple[str, float | None]]:
    rows = _rows(
        "SELECT date_trunc('hour', created_at) AS hour, "
        "count(*) FILTER (WHERE status IN ('COMPLETED', 'AUTHORIZED')), "
        "count(*) FILTER (WHERE status IN ('COMPLETED', 'AUTHORIZED', 'FAILED')) "
        "FROM payments WHERE created_at >= %s GROUP BY 1",
        now - dt.timedelta(hours=24),
    )
    by_hour = {hour: (ok / decided if decided else None) for hour, ok, decided in rows}
    start = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=23)
    hours = [start + dt.timedelta(hours=offset) for offset in range(24)]
    return [(f"{hour:%H}:00", by_hour.get(hour)) for hour in hours]


def _rows(sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        return [tuple(row) for row in cursor.fetchall()]
