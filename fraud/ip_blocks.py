"""Threat detection at the edge: IP blocks (set by the brute-force rule or by an operator),
lifting them, and the cheap "is this IP blocked?" check the middleware runs per request.

Failed authentications are counted from the security events `audit` already stores
(`auth.api_key_failed`, `auth.login_failed`): one record per failure, no second counter to keep
in step. `fraud` must not import `payments` (compliance → payments → fraud → audit), so the
callers that record a failure call `brute_force_check` right after it: payments'
`api_key_authenticate` and `fraud.receivers` (back-office logins).

The check asks three places in turn. (1) A per-process memo of the last second's answers: a
Redis round trip through Django's cache measured ~240 µs per request on our 2-core machines
(local memory: ~12 µs), a quarter of a lean API request, while a dict lookup is free. (2)
Django's cache (Redis when REDIS_URL is set): "blocked" kept for the block's remaining
lifetime, "not blocked" for SHORT_CACHE_SECONDS. (3) One indexed query on a miss.
Blocks and lifts clear this process's memo and move the IP's cache version on, at once and
again on commit. Answers are remembered under the version (and memo generation) read *before*
asking the database, so a check that raced a block and read "not blocked" just before it
committed stores its answer where nobody looks any more. So a new block or a lift takes
effect immediately in the process that made it, and in other processes within
LOCAL_MEMO_SECONDS with Redis. Without Redis the cache is per process and cannot be
invalidated from another one (a runbook script, another gunicorn worker), so every answer
there is kept at most SHORT_CACHE_SECONDS: a new block or a lift takes effect within that
time in the other processes.
"""

import datetime as dt
import ipaddress
import logging
import math
import time
from dataclasses import replace
from enum import StrEnum
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection, transaction
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from audit.context import acting_as, current_context
from audit.models import SecurityEvent
from audit.services import audit_record, security_event_record
from fraud.models import FraudRule, IpBlock, RuleAction, RuleKind

logger = logging.getLogger(__name__)

# Security events that count as failed authentications (recorded by their callers).
API_KEY_FAILED_EVENT = "auth.api_key_failed"
LOGIN_FAILED_EVENT = "auth.login_failed"
FAILED_AUTH_EVENTS = (API_KEY_FAILED_EVENT, LOGIN_FAILED_EVENT)
IP_BLOCKED_EVENT = "ip.blocked"
IP_UNBLOCKED_EVENT = "ip.unblocked"

# "Not blocked" is cached this long; so is every answer when the cache is per process.
SHORT_CACHE_SECONDS = 5
# With a shared cache a block is remembered for its remaining lifetime, re-read at least daily.
CACHE_SECONDS_MAX = 24 * 60 * 60
_CACHE_PREFIX = "fraud:ip_block:"
_NOT_BLOCKED = 0.0
LOCAL_MEMO_SECONDS = 1.0
# Plenty for the addresses one process serves in a second; a flood of new ones empties it.
_LOCAL_MEMO_MAX_ENTRIES = 10_000
# client address as the request gave it → (remembered until, monotonic; blocked until, Unix)
# address as spelled → (memo expiry, blocked until, generation it was read in)
_local_memo: dict[str, tuple[float, float, int]] = {}
# Moved on by every forget: a memo entry from an older generation is not trusted.
_memo_generation = 0


class IpBlockSource(StrEnum):
    """Who set a block (`IpBlock.source`): a threat-detection rule or an operator."""

    RULE = "rule"
    OPERATOR = "operator"


class IpBlockAction(StrEnum):
    """Audit actions of IP blocks (resource type `ip_block`)."""

    CREATED = "ip_block.created"
    LIFTED = "ip_block.lifted"


class IpBlockError(ValueError):
    """An operator's request that cannot be carried out; `message` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def ip_normalize(text: str) -> str:
    """One IPv4 or IPv6 address in canonical form ('2001:DB8:0::1' → '2001:db8::1'). An
    IPv4-mapped IPv6 address becomes the IPv4 address, so a block on 1.2.3.4 also holds when a
    dual-stack server sees the client as ::ffff:1.2.3.4."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        raise IpBlockError(
            f"{text!r} is not an IP address: give one IPv4 or IPv6 address (no ranges)."
        ) from None
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            raise IpBlockError(f"{text!r} has a zone index; give the address without '%…'.")
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
    return str(address)


def active_block_q(now: dt.datetime) -> Q:
    """Blocks in force at `now`: not lifted and not expired (for filters and querysets)."""
    return Q(lifted_at__isnull=True) & (Q(blocked_until__isnull=True) | Q(blocked_until__gt=now))


def ip_blocks_active(*, now: dt.datetime | None = None) -> QuerySet[IpBlock]:
    """Blocks in force now: not lifted and not expired."""
    return IpBlock.objects.filter(active_block_q(now or timezone.now()))


def ip_block_is_active(block: IpBlock, *, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    return block.lifted_at is None and (block.blocked_until is None or block.blocked_until > now)


def ip_is_blocked(ip_address: str | None) -> bool:
    """Whether requests from `ip_address` are refused. Runs on every API and back-office
    request: usually a dict lookup; a cache read, or one indexed query, once a second."""
    if not ip_address:
        return False
    generation = _memo_generation
    memo = _local_memo.get(ip_address)
    if memo is None or memo[0] <= time.monotonic() or memo[2] != generation:
        memo = (time.monotonic() + LOCAL_MEMO_SECONDS, _blocked_until(ip_address), generation)
        if len(_local_memo) >= _LOCAL_MEMO_MAX_ENTRIES:
            _local_memo.clear()
        _local_memo[ip_address] = memo
    return memo[1] > time.time()


def _blocked_until(ip_address: str) -> float:
    try:
        ip = ip_normalize(ip_address)
    except IpBlockError:
        return _NOT_BLOCKED  # no block can name it (a proxy passed garbage)
    key = _cache_key(ip)
    blocked_until = _cache_get(key)
    if blocked_until is None:
        blocked_until = _blocked_until_from_database(ip)
        _cache_remember(key, blocked_until)
    return blocked_until


def _blocked_until_from_database(ip: str) -> float:
    """The latest end of the IP's active blocks as a Unix time (infinity: until lifted; 0: not
    blocked)."""
    ends = list(ip_blocks_active().filter(ip_address=ip).values_list("blocked_until", flat=True))
    if not ends:
        return _NOT_BLOCKED
    if None in ends:
        return math.inf
    return max(end.timestamp() for end in ends)


def brute_force_check(*, ip_address: str | None) -> IpBlock | None:
    """Block `ip_address` when an enabled brute-force rule sees more than `max_count` failed
    authentications from it within `window_seconds` (the rule's parameters, as data). Call it
    right after recording a failure as one of FAILED_AUTH_EVENTS. Returns the new block or None.

    One block per burst, also under concurrent failures: the decision runs under a per-IP lock,
    nothing is blocked twice, and only failures after the IP's latest block count (the earlier
    ones were answered by it, even if an operator lifted it early).
    """
    if not ip_address:
        return None
    rules = list(
        FraudRule.objects.filter(
            kind=RuleKind.BRUTE_FORCE, action=RuleAction.BLOCK_IP, enabled=True
        ).order_by("priority", "name")
    )
    if not rules:
        return None
    ip = ip_normalize(ip_address)
    # The rule acts, not the caller (an unauthenticated client): actor `system`, while IP,
    # user agent and request id still say which request tipped it over.
    system = replace(current_context(), actor_id="system", actor_type="system")
    with acting_as(system), transaction.atomic():
        _lock_ip(ip)
        now = timezone.now()
        history = IpBlock.objects.filter(ip_address=ip).aggregate(
            latest=Max("created_at"), active=Count("id", filter=active_block_q(now))
        )
        if history["active"]:
            return None
        for rule in rules:
            max_count = int(rule.parameters["max_count"])
            window_seconds = int(rule.parameters["window_seconds"])
            since = now - dt.timedelta(seconds=window_seconds)
            if history["latest"] is not None:
                since = max(since, history["latest"])
            # Events store the address as the request saw it, so match that form. Counting
            # stops at max_count + 1: the answer is the same, the work is bounded.
            failures = (
                SecurityEvent.objects.filter(
                    event_type__in=FAILED_AUTH_EVENTS, ip_address=ip_address, created_at__gt=since
                )
                .values("id")[: max_count + 1]
                .count()
            )
            if failures > max_count:
                return _block_create(
                    ip=ip,
                    source=IpBlockSource.RULE,
                    reason=(
                        f"{rule.name}: more than {max_count} failed authentications "
                        f"within {window_seconds} s"
                    ),
                    blocked_until=now + dt.timedelta(seconds=int(rule.parameters["block_seconds"])),
                    details={
                        "rule": rule.name,
                        "rule_version": rule.version,
                        "max_count": max_count,
                        "window_seconds": window_seconds,
                    },
                )
    return None


@transaction.atomic
def ip_block_create(
    *, ip_address: str, reason: str = "", blocked_until: dt.datetime | None = None
) -> tuple[IpBlock, bool]:
    """An operator blocks an IP until `blocked_until`, or until lifted when None (the runbook's
    emergency containment). Returns (block, created): an active block that already lasts at
    least as long is kept and returned with created False, so repeating the command is harmless.
    """
    ip = ip_normalize(ip_address)
    _lock_ip(ip)
    now = timezone.now()
    if blocked_until is not None and blocked_until <= now:
        raise IpBlockError("The block must end in the future.")
    for existing in ip_blocks_active(now=now).filter(ip_address=ip).order_by("created_at"):
        if existing.blocked_until is None or (
            blocked_until is not None and existing.blocked_until >= blocked_until
        ):
            return existing, False
    block = _block_create(
        ip=ip,
        source=IpBlockSource.OPERATOR,
        reason=reason,
        blocked_until=blocked_until,
        details={},
    )
    return block, True


@transaction.atomic
def ip_block_lift(*, ip_address: str, reason: str = "") -> list[IpBlock]:
    """Let `ip_address` in again: lift every active block of it, whichever source set it.
    Returns the lifted blocks (none when it was not blocked; nothing is recorded then)."""
    ip = ip_normalize(ip_address)
    _lock_ip(ip)
    now = timezone.now()
    actor = current_context().actor_id
    blocks = list(ip_blocks_active(now=now).filter(ip_address=ip).order_by("created_at"))
    for block in blocks:
        old = _block_dict(block)
        block.lifted_at = now
        block.lifted_by = actor
        block.save(update_fields=["lifted_at", "lifted_by"])
        audit_record(
            action=IpBlockAction.LIFTED,
            resource_type="ip_block",
            resource_id=str(block.pk),
            old=old,
            new={**_block_dict(block), "lift_reason": reason},
        )
    if blocks:
        security_event_record(
            event_type=IP_UNBLOCKED_EVENT,
            details={"block_ids": [block.pk for block in blocks], "reason": reason},
            context=replace(current_context(), ip_address=ip),
        )
        _cache_forget_now_and_on_commit(ip)
    return blocks


def _block_create(
    *,
    ip: str,
    source: IpBlockSource,
    reason: str,
    blocked_until: dt.datetime | None,
    details: dict[str, Any],
) -> IpBlock:
    """Insert the block with its audit row and security event (the event names the blocked IP,
    so one query by address shows the failures and the block together)."""
    context = current_context()
    block = IpBlock.objects.create(
        ip_address=ip,
        reason=reason[:500],
        source=source,
        created_by=context.actor_id,
        blocked_until=blocked_until,
    )
    audit_record(
        action=IpBlockAction.CREATED,
        resource_type="ip_block",
        resource_id=str(block.pk),
        new=_block_dict(block),
    )
    security_event_record(
        event_type=IP_BLOCKED_EVENT,
        details={
            "block_id": block.pk,
            "source": str(source),
            "reason": block.reason,
            "blocked_until": _iso(blocked_until),
            **details,
        },
        context=replace(context, ip_address=ip),
    )
    _cache_forget_now_and_on_commit(ip)
    return block


def _block_dict(block: IpBlock) -> dict[str, Any]:
    return {
        "ip_address": str(block.ip_address),
        "source": block.source,
        "reason": block.reason,
        "created_by": block.created_by,
        "blocked_until": _iso(block.blocked_until),
        "lifted_at": _iso(block.lifted_at),
        "lifted_by": block.lifted_by,
    }


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _lock_ip(ip: str) -> None:
    """Serialize block decisions about one IP until the transaction ends. An advisory lock
    rather than a row lock: the row to lock may not exist yet, and locking the rule row would
    make failures from every IP wait on each other."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"{_CACHE_PREFIX}{ip}"]
        )


# The cache only saves queries: when it is unreachable, the database answers and the request
# goes on (a Redis outage must not become an API outage).


def _cache_key(ip: str) -> str:
    """The IP's answer key under its current version (moved on by every block and lift)."""
    try:
        version = caches["default"].get(f"{_CACHE_PREFIX}version:{ip}") or 0
    except Exception:
        logger.warning("IP block cache unavailable; asking the database", exc_info=True)
        version = 0
    return f"{_CACHE_PREFIX}{ip}:{version}"


def _cache_get(key: str) -> float | None:
    try:
        return caches["default"].get(key)
    except Exception:
        logger.warning("IP block cache unavailable; asking the database", exc_info=True)
        return None


def _cache_remember(key: str, blocked_until: float) -> None:
    remaining = blocked_until - time.time()
    if remaining <= 0:
        seconds = SHORT_CACHE_SECONDS
    elif isinstance(caches["default"], LocMemCache):
        seconds = min(remaining, SHORT_CACHE_SECONDS)
    else:
        seconds = min(remaining, CACHE_SECONDS_MAX)
    try:
        # Whole seconds, rounded up (Redis truncates); the stored end decides, not the TTL.
        caches["default"].set(key, blocked_until, timeout=math.ceil(seconds))
    except Exception:
        logger.warning("IP block cache unavailable; not caching", exc_info=True)


def ip_block_cache_forget(ip_address: str) -> None:
    """Drop the cached answers for an address: this process's memo (all of it: it is keyed by
    the address as requests spelled it) and, by moving its version on, the entry in Django's
    cache."""
    global _memo_generation
    _memo_generation += 1
    _local_memo.clear()
    try:
        version_key = f"{_CACHE_PREFIX}version:{ip_normalize(ip_address)}"
    except IpBlockError:
        return  # never cached
    try:
        cache = caches["default"]
        try:
            cache.incr(version_key)
        except ValueError:  # no version yet
            cache.set(version_key, 1, timeout=None)
    except Exception:
        logger.warning("IP block cache unavailable; not invalidated", exc_info=True)


def _cache_forget_now_and_on_commit(ip: str) -> None:
    """Now, so that this connection's next check sees the change; on commit, because another
    request may have cached the old answer from the database before the change committed."""
    ip_block_cache_forget(ip)
    transaction.on_commit(lambda: ip_block_cache_forget(ip))
