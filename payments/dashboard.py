"""The back office's home: the runbook's health numbers over the last hour, day and week,
read from the database (cached a minute), with the runbook's alert thresholds."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncHour
from django.utils import timezone

from fraud.models import FraudCheck
from payments.models import Payment, Refund, Transaction
from webhooks.dead_letters import redis_list_length
from webhooks.models import WebhookDelivery

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
    def charts(self) -> list[dict[str, Any]]:
        """Horizontal bar charts (server-side SVG) of the counted breakdowns: each bar's width
        in px against the largest count (300 px)."""
        breakdowns = [
            ("Volume by gateway", self.by_gateway),
            ("Gateway errors by type", self.gateway_errors),
            ("Fraud detections", self.fraud),
            ("Refunds", self.refunds),
        ]
        charts = []
        for title, pairs in breakdowns:
            largest = max((count for _, count in pairs), default=0)
            bars = [
                {
                    "label": str(label or "unknown"),
                    "count": count,
                    "width": round(300 * count / largest) if largest else 0,
                    "y": index * 22,
                }
                for index, (label, count) in enumerate(pairs)
            ]
            charts.append({"title": title, "bars": bars, "height": max(22, 22 * len(bars))})
        return charts

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


def dashboard(
    window: str, *, now: dt.datetime | None = None, merchants: frozenset[str] | None = None
) -> Dashboard:
    """The numbers of `window`, for every merchant or (for an operator limited to some) only
    for `merchants`."""
    if window not in WINDOWS:
        window = "day"
    scope = sorted(merchants) if merchants is not None else None
    key = f"dashboard:{window}:{','.join(scope) if scope is not None else '*'}"
    cached = cache.get(key) if now is None else None
    if cached is not None:
        return cached
    now = now or timezone.now()
    since = now - WINDOWS[window]
    mine = {} if scope is None else {"merchant_id__in": scope}
    payments = Payment.objects.filter(created_at__gte=since, **mine)
    transactions = Transaction.objects.filter(created_at__gte=since)
    if scope is not None:
        transactions = transactions.filter(payment__merchant_id__in=scope)
    board = Dashboard(window=window)
    statuses = _counts(payments, "status")
    board.payments = sum(statuses.values())
    settled = statuses.get("COMPLETED", 0) + statuses.get("AUTHORIZED", 0)
    decided = settled + statuses.get("FAILED", 0)
    board.success_rate = settled / decided if decided else None
    board.by_gateway = sorted(_counts(payments, "gateway").items(), key=lambda kv: -kv[1])
    board.latency_p50_ms, board.latency_p99_ms, board.gateway_calls = _latency(transactions)
    board.gateway_errors = sorted(
        _counts(transactions.filter(status="FAILED"), "error_code").items(), key=lambda kv: -kv[1]
    )
    errors = sum(count for _, count in board.gateway_errors)
    board.error_rate = errors / board.gateway_calls if board.gateway_calls else None
    board.fraud = sorted(
        _counts(
            FraudCheck.objects.filter(created_at__gte=since, **mine).exclude(decision="allow"),
            "decision",
        ).items()
    )
    board.refunds = sorted(
        _counts(Refund.objects.filter(created_at__gte=since, **mine), "status").items()
    )
    # Queue lengths are everyone's: not shown to an operator limited to some merchants.
    if scope is None:
        board.webhooks = {
            # None without Redis (the embedded demo runs tasks in-process: no queue).
            "queue depth (webhook_queue)": redis_list_length("webhook_queue"),
            "dead letters (webhook_dlq)": redis_list_length("webhook_dlq"),
        }
    waiting = WebhookDelivery.objects.filter(
        status__in=("retrying", "dead"), resolved_at__isnull=True, **mine
    )
    board.webhooks |= {f"outbound {k}": v for k, v in _counts(waiting, "status").items()}
    board.hourly_success = _hourly_success(
        Payment.objects.filter(created_at__gte=now - dt.timedelta(hours=24), **mine), now
    )
    cache.set(key, board, CACHE_SECONDS)
    return board


def _counts(queryset: QuerySet, field: str) -> dict[str, int]:
    rows = queryset.order_by().values_list(field).annotate(n=Count("pk"))
    return {value: n for value, n in rows}


def _latency(transactions: QuerySet) -> tuple[float | None, float | None, int]:
    ids = transactions.order_by().values("pk")
    sql, params = ids.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms), "
            "percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms), count(*) "
            "FROM transactions WHERE id IN (" + sql + ")",
            params,
        )
        p50, p99, calls = cursor.fetchone()
    return p50, p99, calls


def _hourly_success(payments: QuerySet, now: dt.datetime) -> list[tuple[str, float | None]]:
    ok = Q(status__in=("COMPLETED", "AUTHORIZED"))
    rows = (
        payments.order_by()
        .annotate(hour=TruncHour("created_at"))
        .values_list("hour")
        .annotate(
            ok=Count("pk", filter=ok),
            decided=Count("pk", filter=ok | Q(status="FAILED")),
        )
    )
    by_hour = {hour: (good / decided if decided else None) for hour, good, decided in rows}
    start = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=23)
    hours = [start + dt.timedelta(hours=offset) for offset in range(24)]
    return [(f"{hour:%H}:00", by_hour.get(hour)) for hour in hours]
