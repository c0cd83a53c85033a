"""What a rule would have fired on over the last N days, before anyone enables it: a replay of
the engine's history (`fraud_observations`: an attempt per screened payment, a decline per
declined authorization) in SQL, one statement per rule kind, mirroring `fraud.engine` +
`fraud.history` for every payment (attempt) of the period as if the rule had been enabled then.

Windows look back before the period's start, so the period's first payments see what came
just before them, as the engine did. Read-only by construction: it never calls `fraud_screen`
and runs in a read-only transaction that is rolled back, under a statement timeout. Not
replayed: BIN-country blocklist entries (the history has no card country) and brute_force
rules (they count failed authentications, not payments).
"""

import datetime as dt
import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import OperationalError, connection, transaction
from django.utils import timezone
from psycopg.errors import QueryCanceled

from fraud.engine import EARTH_RADIUS_KM
from fraud.models import BlocklistEntry, BlocklistKind, FraudObservation, RuleKind
from fraud.rules import RuleError, RuleSpec, validate_parameters

DEFAULT_DAYS = 7
MAX_DAYS = 90
MAX_EXAMPLES = 20
FINGERPRINT_SHOWN = 8  # characters of a card fingerprint an operator sees, never more
STATEMENT_TIMEOUT = "30s"

_OBSERVATIONS = FraudObservation._meta.db_table
_BLOCKLIST = BlocklistEntry._meta.db_table
_KEY_COLUMN = {
    "card": "card_fingerprint",
    "customer": "customer_id",
    "email": "email",
    "ip": "ip_address",
}


@dataclass(frozen=True)
class DryRunExample:
    created_at: dt.datetime
    amount: int  # minor units
    currency: str
    card: str  # the fingerprint's first FINGERPRINT_SHOWN characters
    observed: dict[str, Any]

    @property
    def observed_text(self) -> str:
        """`count: 3, per: card` (keys sorted, lists joined): what an operator reads."""
        return ", ".join(
            f"{key}: {', '.join(map(str, value)) if isinstance(value, list) else value}"
            for key, value in sorted(self.observed.items())
        )


@dataclass(frozen=True)
class DryRunResult:
    days: int
    since: dt.datetime
    until: dt.datetime
    payments: int  # screened in the period
    fired: int  # of those, how many the rule would have fired on
    examples: list[DryRunExample]  # the latest MAX_EXAMPLES of them
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Period:
    since: dt.datetime
    until: dt.datetime

    def looking_back(self, seconds: int) -> dt.datetime:
        return self.since - dt.timedelta(seconds=seconds)


@dataclass(frozen=True)
class _Replay:
    """A statement yielding (id, created_at, amount, currency, card_fingerprint, observed) for
    every payment of the period the rule fires on; `observed` as the engine records it."""

    sql: str
    params: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def _count_in_window(
    parameters: dict[str, Any],
    period: _Period,
    *,
    counted: str,
    fires: str,
    observed: str,
    values: dict[str, Any],
) -> _Replay:
    """Payments of the period on which `fires` holds, where `recent` is the number of
    observations matching `counted` with the same key (`per`) in the window up to and including
    this payment. The engine counts those with created_at > now - window (plus this attempt
    when it is one of them): a RANGE frame of (window - 1 µs) ending at this row is exactly that
    at timestamp precision."""
    column = _KEY_COLUMN[parameters["per"]]
    window = parameters["window_seconds"]
    sql = f"""
        SELECT id, created_at, amount, currency, card_fingerprint, {observed} AS observed
        FROM (
            SELECT o.*, count(*) FILTER (WHERE {counted}) OVER (
                PARTITION BY {column} ORDER BY created_at
                RANGE BETWEEN %(frame)s::interval PRECEDING AND CURRENT ROW
            ) AS recent
            FROM {_OBSERVATIONS} o
            WHERE coalesce({column}::text, '') <> ''
              AND created_at > %(scan_from)s AND created_at <= %(until)s
        ) counted
        WHERE kind = 'attempt' AND created_at >= %(since)s AND {fires}
    """  # noqa: S608 (names from models and code, values are parameters)
    return _Replay(
        sql,
        {
            "per": parameters["per"],
            "window_seconds": window,
            "frame": dt.timedelta(seconds=window) - dt.timedelta(microseconds=1),
            "scan_from": period.looking_back(window),
            **values,
        },
    )


_PER_WINDOW = "'per', %(per)s::text, 'window_seconds', %(window_seconds)s::int"


def _velocity(parameters: dict[str, Any], period: _Period) -> _Replay:
    return _count_in_window(
        parameters,
        period,
        counted="kind = 'attempt'",
        fires="recent > %(max_count)s",
        observed=f"jsonb_build_object('count', recent, {_PER_WINDOW})",
        values={"max_count": parameters["max_count"]},
    )


def _card_testing(parameters: dict[str, Any], period: _Period) -> _Replay:
    if "max_declines" in parameters:
        # Declines seen before this attempt (its own outcome comes later).
        return _count_in_window(
            parameters,
            period,
            counted="kind = 'decline'",
            fires="recent > %(max_declines)s",
            observed=f"jsonb_build_object('declines', recent, {_PER_WINDOW})",
            values={"max_declines": parameters["max_declines"]},
        )
    return _count_in_window(
        parameters,
        period,
        counted="kind = 'attempt' AND amount <= %(small_amount)s",
        fires="amount <= %(small_amount)s AND recent > %(max_small_attempts)s",
        observed="jsonb_build_object('small_attempts', recent, "
        f"'small_amount', %(small_amount)s::bigint, {_PER_WINDOW})",
        values={
            "small_amount": parameters["small_amount"],
            "max_small_attempts": parameters["max_small_attempts"],
        },
    )


def _haversine_km(lat1: str, lon1: str, lat2: str, lon2: str) -> str:
    """`fraud.engine.haversine_km` as SQL (least() keeps rounding from leaving asin's domain)."""
    return (
        f"2 * %(earth_radius_km)s::float8 * asin(least(1.0, sqrt("
        f"power(sin(radians({lat2} - {lat1}) / 2), 2)"
        f" + cos(radians({lat1})) * cos(radians({lat2}))"
        f" * power(sin(radians({lon2} - {lon1}) / 2), 2))))"
    )


def _geo_anomaly(parameters: dict[str, Any], period: _Period) -> _Replay:
    window = parameters["window_seconds"]
    distance = _haversine_km("previous_latitude", "previous_longitude", "latitude", "longitude")
    # The engine compares a located payment with the card's latest located payment within the
    # window: LAG over the card's located observations, kept when it is recent enough.
    sql = f"""
        SELECT id, created_at, amount, currency, card_fingerprint,
               jsonb_build_object(
                   'distance_km', round(distance_km::numeric, 1),
                   'seconds_since_previous',
                   floor(extract(epoch FROM created_at - previous_at))::int
               ) AS observed
        FROM (
            SELECT located.*, {distance} AS distance_km
            FROM (
                SELECT o.*,
                       lag(latitude) OVER card AS previous_latitude,
                       lag(longitude) OVER card AS previous_longitude,
                       lag(created_at) OVER card AS previous_at
                FROM {_OBSERVATIONS} o
                WHERE kind = 'attempt' AND card_fingerprint <> ''
                  AND latitude IS NOT NULL AND longitude IS NOT NULL
                  AND created_at > %(scan_from)s AND created_at <= %(until)s
                WINDOW card AS (PARTITION BY card_fingerprint ORDER BY created_at, id)
            ) located
            WHERE created_at >= %(since)s AND previous_at > created_at - %(window)s::interval
        ) measured
        WHERE distance_km > %(max_distance_km)s::float8
    """  # noqa: S608 (names from models and code, values are parameters)
    return _Replay(
        sql,
        {
            "earth_radius_km": EARTH_RADIUS_KM,
            "scan_from": period.looking_back(window),
            "window": dt.timedelta(seconds=window),
            "max_distance_km": float(parameters["max_distance_km"]),
        },
    )


_THRESHOLDS = """(
    SELECT key AS currency, value::bigint AS threshold
    FROM jsonb_each_text(%(thresholds)s::jsonb)
) threshold_of"""


def _amount_threshold(parameters: dict[str, Any], period: _Period) -> _Replay:
    sql = f"""
        SELECT o.id, o.created_at, o.amount, o.currency, o.card_fingerprint,
               jsonb_build_object('amount', o.amount, 'currency', o.currency,
                                  'threshold', threshold_of.threshold) AS observed
        FROM {_OBSERVATIONS} o
        JOIN {_THRESHOLDS} ON threshold_of.currency = o.currency
        WHERE o.kind = 'attempt' AND o.created_at >= %(since)s AND o.created_at <= %(until)s
          AND o.amount > threshold_of.threshold
    """  # noqa: S608 (names from models and code, values are parameters)
    return _Replay(sql, {"thresholds": json.dumps(parameters["thresholds"])})


def _first_payment_amount(parameters: dict[str, Any], period: _Period) -> _Replay:
    # A card's first payment of the period is its first ever unless it was seen before it.
    sql = f"""
        SELECT first.id, first.created_at, first.amount, first.currency, first.card_fingerprint,
               jsonb_build_object('amount', first.amount, 'currency', first.currency,
                                  'threshold', threshold_of.threshold,
                                  'first_payment_of_card', true) AS observed
        FROM (
            SELECT o.*, row_number() OVER (
                PARTITION BY card_fingerprint ORDER BY created_at, id
            ) AS nth
            FROM {_OBSERVATIONS} o
            WHERE kind = 'attempt' AND card_fingerprint <> ''
              AND created_at >= %(since)s AND created_at <= %(until)s
        ) first
        JOIN {_THRESHOLDS} ON threshold_of.currency = first.currency
        WHERE first.nth = 1 AND first.amount > threshold_of.threshold
          AND NOT EXISTS (
              SELECT 1 FROM {_OBSERVATIONS} earlier
              WHERE earlier.card_fingerprint = first.card_fingerprint
                AND earlier.created_at < %(since)s
          )
    """  # noqa: S608 (names from models and code, values are parameters)
    return _Replay(sql, {"thresholds": json.dumps(parameters["thresholds"])})


def _blocklist(parameters: dict[str, Any], period: _Period) -> _Replay:
    kinds = set(parameters.get("kinds") or BlocklistKind.values)
    current = BlocklistEntry.objects.exclude(expires_at__lte=period.until)
    # IP entries are matched as the engine matches them (ipaddress, strict=False) and handed
    # to SQL normalized: one malformed entry must not fail the whole replay.
    networks = []
    if BlocklistKind.IP in kinds:
        for value in current.filter(kind=BlocklistKind.IP).values_list("value", flat=True):
            try:
                networks.append(str(ipaddress.ip_network(value, strict=False)))
            except ValueError:
                continue
    notes = []
    if (
        BlocklistKind.BIN_COUNTRY in kinds
        and current.filter(kind=BlocklistKind.BIN_COUNTRY).exists()
    ):
        notes.append(
            "BIN-country entries are not replayed: the history does not keep the card's country."
        )
    # One join per kind, so each can use that column's index for a short blocklist.
    sql = f"""
        WITH entries AS (
            SELECT kind, value FROM {_BLOCKLIST}
            WHERE kind = ANY(%(kinds)s::text[]) AND value <> ''
              AND (expires_at IS NULL OR expires_at > %(until)s)
        ), hits AS (
            SELECT o.id, e.kind FROM entries e JOIN {_OBSERVATIONS} o
                ON e.kind = 'card_fingerprint' AND o.card_fingerprint = e.value
            WHERE o.kind = 'attempt' AND o.created_at >= %(since)s AND o.created_at <= %(until)s
            UNION ALL
            SELECT o.id, e.kind FROM entries e JOIN {_OBSERVATIONS} o
                ON e.kind = 'email' AND o.email = e.value
            WHERE o.kind = 'attempt' AND o.created_at >= %(since)s AND o.created_at <= %(until)s
            UNION ALL
            SELECT o.id, e.kind FROM entries e JOIN {_OBSERVATIONS} o
                ON e.kind = 'customer' AND o.customer_id = e.value
            WHERE o.kind = 'attempt' AND o.created_at >= %(since)s AND o.created_at <= %(until)s
            UNION ALL
            SELECT o.id, 'ip' FROM unnest(%(networks)s::cidr[]) AS network
                JOIN {_OBSERVATIONS} o ON o.ip_address <<= network
            WHERE o.kind = 'attempt' AND o.created_at >= %(since)s AND o.created_at <= %(until)s
        )
        SELECT o.id, o.created_at, o.amount, o.currency, o.card_fingerprint,
               jsonb_build_object('matched', array_agg(DISTINCT hits.kind ORDER BY hits.kind))
                   AS observed
        FROM hits JOIN {_OBSERVATIONS} o ON o.id = hits.id
        GROUP BY o.id
    """  # noqa: S608 (names from models and code, values are parameters)
    return _Replay(sql, {"kinds": sorted(kinds), "networks": networks}, notes)


_REPLAYS: dict[str, Callable[[dict[str, Any], _Period], _Replay]] = {
    RuleKind.VELOCITY: _velocity,
    RuleKind.GEO_ANOMALY: _geo_anomaly,
    RuleKind.AMOUNT_THRESHOLD: _amount_threshold,
    RuleKind.FIRST_PAYMENT_AMOUNT: _first_payment_amount,
    RuleKind.BLOCKLIST: _blocklist,
    RuleKind.CARD_TESTING: _card_testing,
}


def rule_dry_run(spec: RuleSpec, *, days: int = DEFAULT_DAYS) -> DryRunResult:
    """How many payments of the last `days` days `spec` would have fired on, with the latest
    MAX_EXAMPLES of them. Changes nothing; raises RuleError for a rule it cannot replay."""
    if not 1 <= days <= MAX_DAYS:
        raise RuleError(f"a dry run covers 1 to {MAX_DAYS} days")
    validate_parameters(spec.kind, spec.parameters, spec.action)
    replay_of = _REPLAYS.get(spec.kind)
    if replay_of is None:
        raise RuleError(f"{spec.kind} rules have no dry run: they do not look at payments")
    until = timezone.now()
    period = _Period(since=until - dt.timedelta(days=days), until=until)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION READ ONLY")
            cursor.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
            replay = replay_of(spec.parameters, period)
            params = {**replay.params, "since": period.since, "until": period.until}
            cursor.execute(
                f"SELECT count(*) FROM {_OBSERVATIONS} "  # noqa: S608 (name from the model)
                "WHERE kind = 'attempt' AND created_at >= %(since)s AND created_at <= %(until)s",
                params,
            )
            payments = cursor.fetchone()[0]
            cursor.execute(
                f"""
                WITH fired AS ({replay.sql})
                SELECT count(*) OVER (), created_at, amount, currency,
                       left(card_fingerprint, {FINGERPRINT_SHOWN}), observed
                FROM fired ORDER BY created_at DESC, id DESC LIMIT {MAX_EXAMPLES}
                """,  # noqa: S608 (the replay's SQL, values are parameters)
                params,
            )
            rows = cursor.fetchall()
            transaction.set_rollback(True)  # nothing to keep; also ends the read-only setting
    except OperationalError as exc:
        if isinstance(exc.__cause__, QueryCanceled):
            raise RuleError(
                f"the replay took longer than {STATEMENT_TIMEOUT}; try fewer days"
            ) from exc
        raise
    return DryRunResult(
        days=days,
        since=period.since,
        until=period.until,
        payments=payments,
        fired=rows[0][0] if rows else 0,
        examples=[
            DryRunExample(
                created_at=created_at,
                amount=amount,
                currency=currency,
                card=card,
                observed=json.loads(observed),  # Django has psycopg hand jsonb over as text
            )
            for _, created_at, amount, currency, card, observed in rows
        ],
        notes=replay.notes,
    )
