"""Reads of the engine's own history, sized for the hot path: one statement of indexed,
bounded scalar subqueries (a velocity count stops at max_count + 1 rows), plus one
blocklist lookup when a blocklist rule is enabled."""

import datetime as dt
import ipaddress

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from fraud.engine import FraudContext, HistoryFacts, PreviousLocation
from fraud.models import (
    BinRange,
    BlocklistEntry,
    BlocklistKind,
    FraudObservation,
    FraudRule,
    RuleKind,
)

_TABLE = FraudObservation._meta.db_table
_COLUMN = {
    "card": "card_fingerprint",
    "customer": "customer_id",
    "email": "email",
    "ip": "ip_address",
}


# The partial indexes' conditions (fraud.models), spelled out: a prepared statement's generic
# plan cannot infer them from `column = $1`.
_HAS_KEY = {
    "card_fingerprint": "",
    "customer_id": "AND customer_id <> '' ",
    "email": "AND email <> '' ",
    "ip_address": "",
}


def _bounded_count(column: str, condition: str) -> str:
    """Rows for one key in a window, counted no further than LIMIT (parameters: the key's
    value, the window's start, the limit): a hot key costs no more than a cold one."""
    return (
        f"(SELECT count(*) FROM (SELECT 1 FROM {_TABLE} WHERE {column} = %s {_HAS_KEY[column]}"
        f"AND created_at > %s AND {condition} LIMIT %s) AS recent)"
    )


def history_facts(context: FraudContext, rules: list[FraudRule]) -> HistoryFacts:
    now = timezone.now()
    selects: list[str] = []
    params: list[object] = []
    reads: list[tuple[str, str]] = []  # (what, rule name) in select order
    for rule in rules:
        if rule.kind == RuleKind.VELOCITY:
            value = context.key(rule.parameters["per"])
            if not value:
                continue
            since = now - dt.timedelta(seconds=rule.parameters["window_seconds"])
            selects.append(_bounded_count(_COLUMN[rule.parameters["per"]], "kind = 'attempt'"))
            params += [value, since, rule.parameters["max_count"] + 1]
            reads.append(("count", rule.name))
        elif rule.kind == RuleKind.CARD_TESTING:
            value = context.key(rule.parameters["per"])
            if not value:
                continue
            since = now - dt.timedelta(seconds=rule.parameters["window_seconds"])
            if "max_declines" in rule.parameters:
                condition, limit = "kind = 'decline'", rule.parameters["max_declines"] + 1
            else:
                condition = f"kind = 'attempt' AND amount <= {int(rule.parameters['small_amount'])}"
                limit = rule.parameters["max_small_attempts"] + 1
            selects.append(_bounded_count(_COLUMN[rule.parameters["per"]], condition))
            params += [value, since, limit]
            reads.append(("count", rule.name))
        elif (
            rule.kind == RuleKind.GEO_ANOMALY
            and context.card_fingerprint
            and context.latitude is not None
        ):
            since = now - dt.timedelta(seconds=rule.parameters["window_seconds"])
            selects.append(
                "(SELECT ARRAY[latitude, longitude, extract(epoch FROM %s - created_at)] "
                f"FROM {_TABLE} "
                "WHERE card_fingerprint = %s AND latitude IS NOT NULL AND created_at > %s "
                "AND kind = 'attempt' "
                "ORDER BY created_at DESC LIMIT 1)"
            )
            params += [now, context.card_fingerprint, since]
            reads.append(("location", rule.name))
    if context.card_fingerprint and any(
        rule.kind == RuleKind.FIRST_PAYMENT_AMOUNT for rule in rules
    ):
        selects.append(f"EXISTS (SELECT 1 FROM {_TABLE} WHERE card_fingerprint = %s)")
        params.append(context.card_fingerprint)
        reads.append(("seen", ""))
    row: tuple = ()
    if selects:
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(selects), params)
            row = cursor.fetchone()
    counts, locations, seen = {}, {}, False
    for (what, name), value in zip(reads, row, strict=True):
        if what == "count":
            counts[name] = int(value)
        elif what == "location":
            locations[name] = PreviousLocation(*(float(part) for part in value)) if value else None
        else:
            seen = bool(value)
    hits = (
        _blocklist_hits(context) if any(rule.kind == RuleKind.BLOCKLIST for rule in rules) else []
    )
    return HistoryFacts(
        prior_counts=counts,
        previous_locations=locations,
        card_seen_before=seen,
        blocklist_hits=hits,
    )


def card_country(card_bin: str) -> str:
    """The issuer country of the longest BIN prefix we know, or ''."""
    prefixes = [card_bin[:length] for length in range(4, len(card_bin) + 1)]
    best = BinRange.objects.filter(prefix__in=prefixes).order_by("-prefix").first()
    return best.country if best else ""


def _blocklist_hits(context: FraudContext) -> list[tuple[str, str]]:
    country = context.card_country or (card_country(context.card_bin) if context.card_bin else "")
    wanted = Q(kind=BlocklistKind.CARD_FINGERPRINT, value=context.card_fingerprint or None)
    wanted |= Q(kind=BlocklistKind.EMAIL, value=context.email.lower() or None)
    wanted |= Q(kind=BlocklistKind.CUSTOMER, value=context.customer_id or None)
    wanted |= Q(kind=BlocklistKind.BIN_COUNTRY, value=country.upper() or None)
    if context.ip_address:
        wanted |= Q(kind=BlocklistKind.IP)
    entries = BlocklistEntry.objects.filter(wanted).exclude(expires_at__lte=timezone.now())
    hits = []
    for entry in entries.values_list("kind", "value"):
        kind, value = entry
        if kind == BlocklistKind.IP and not _ip_matches(context.ip_address, value):
            continue
        hits.append((kind, value))
    return hits


def _ip_matches(address: str | None, network: str) -> bool:
    try:
        return ipaddress.ip_address(address or "") in ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False
