"""Operators' way out of the dead-letter queue: replay a delivery (a new round of the retry
schedule) or resolve it (nothing more to do). Either takes it off the Redis list
`webhook_dlq`, which mirrors exactly the dead-lettered, unresolved deliveries.

Replays are throttled so that a bulk replay cannot flood endpoints that may just have
recovered: the back office takes at most `REPLAY_MAX_PER_ACTION` per action and
`REPLAY_MAX_PER_MINUTE` per minute across all operators; the runbook's window replay spreads
the due times of what it replays at `REPLAY_MAX_PER_MINUTE` per minute instead of waiting.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from webhooks.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpointStatus
from webhooks.outbound.audit_actions import AuditAction
from webhooks.outbound.errors import DeliveryNotReplayable, ObjectMissing, ReplayRateLimited
from webhooks.outbound.queues import deliveries_enqueue_on_commit, dlq_remove_on_commit

REPLAYABLE_STATUSES = (WebhookDeliveryStatus.DEAD, WebhookDeliveryStatus.CANCELLED)
REPLAY_MAX_PER_ACTION = 100
REPLAY_MAX_PER_MINUTE = 300


@dataclass
class WindowReplay:
    """What `deliveries_replay_window` found and did. `skipped` maps a delivery id to why."""

    replayed: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def _locked(delivery_id: str) -> WebhookDelivery:
    delivery = (
        WebhookDelivery.objects.select_for_update(of=("self",))
        .select_related("endpoint")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None:
        raise ObjectMissing("webhook_delivery", delivery_id)
    return delivery


def delivery_replay(
    *,
    delivery_id: str,
    reason: str,
    now: dt.datetime | None = None,
    due_at: dt.datetime | None = None,
) -> WebhookDelivery:
    """Send a dead-lettered (or cancelled) delivery again, from the first step of the
    schedule, at `due_at` (default: now)."""
    now = now or timezone.now()
    due_at = max(due_at or now, now)
    with transaction.atomic():
        delivery = _locked(delivery_id)
        if delivery.status not in REPLAYABLE_STATUSES:
            raise DeliveryNotReplayable(
                f"{delivery.id} is {delivery.status}: only dead-lettered or cancelled "
                "deliveries are replayed."
            )
        endpoint = delivery.endpoint
        if endpoint.deleted_at or endpoint.status != WebhookEndpointStatus.ENABLED:
            state = "deleted" if endpoint.deleted_at else "disabled"
            raise DeliveryNotReplayable(
                f"{delivery.id}: its endpoint {endpoint.id} is {state}; it must be enabled "
                "again first."
            )
        old = {"status": delivery.status, "attempt_count": delivery.attempt_count}
        delivery.status = WebhookDeliveryStatus.PENDING
        delivery.attempt_count = 0
        delivery.next_attempt_at = due_at
        delivery.enqueued_at = now if due_at <= now else None  # later: the due task queues it
        delivery.dead_lettered_at = delivery.resolved_at = None
        delivery.replay_count += 1
        delivery.save()
        audit_record(
            action=AuditAction.DELIVERY_REPLAYED,
            resource_type="webhook_delivery",
            resource_id=delivery.id,
            old=old,
            new={"status": delivery.status, "due_at": due_at.isoformat(), "reason": reason},
        )
        dlq_remove_on_commit([delivery.id])
        if due_at <= now:
            deliveries_enqueue_on_commit([delivery.id])
    return delivery


def delivery_resolve(
    *, delivery_id: str, note: str, now: dt.datetime | None = None
) -> WebhookDelivery:
    """Close a dead-lettered delivery without sending it again (the merchant has the data
    some other way, or it no longer matters)."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = _locked(delivery_id)
        if delivery.status != WebhookDeliveryStatus.DEAD or delivery.resolved_at:
            raise DeliveryNotReplayable(f"{delivery.id} is not an open dead letter.")
        delivery.resolved_at = now
        delivery.save(update_fields=["resolved_at", "updated_at"])
        audit_record(
            action=AuditAction.DELIVERY_RESOLVED,
            resource_type="webhook_delivery",
            resource_id=delivery.id,
            new={"resolved_at": now.isoformat(), "note": note},
        )
        dlq_remove_on_commit([delivery.id])
    return delivery


def replay_budget_take(count: int, *, now: dt.datetime | None = None) -> None:
    """Count `count` back-office replays against the limits, or raise ReplayRateLimited."""
    if count > REPLAY_MAX_PER_ACTION:
        raise ReplayRateLimited(
            f"Replay at most {REPLAY_MAX_PER_ACTION} deliveries at a time ({count} selected)."
        )
    key = f"webhooks:replays:{(now or timezone.now()):%Y%m%d%H%M}"
    cache.add(key, 0, timeout=120)
    used = cache.incr(key, count)
    if used > REPLAY_MAX_PER_MINUTE:
        cache.decr(key, count)
        raise ReplayRateLimited(
            f"At most {REPLAY_MAX_PER_MINUTE} deliveries are replayed per minute "
            f"({used - count} already this minute): try again in a minute."
        )


def dead_letters_in_window(*, start: dt.datetime, end: dt.datetime) -> list[str]:
    """Open dead letters whose dead-letter time is within [start, end], oldest first."""
    return list(
        WebhookDelivery.objects.filter(
            status=WebhookDeliveryStatus.DEAD,
            resolved_at__isnull=True,
            dead_lettered_at__gte=start,
            dead_lettered_at__lte=end,
        )
        .order_by("dead_lettered_at", "id")
        .values_list("id", flat=True)
    )


def deliveries_replay_window(
    *, start: dt.datetime, end: dt.datetime, reason: str, now: dt.datetime | None = None
) -> WindowReplay:
    """Replay the open dead letters dead-lettered within [start, end], due
    `REPLAY_MAX_PER_MINUTE` per minute from now."""
    now = now or timezone.now()
    report = WindowReplay()
    for delivery_id in dead_letters_in_window(start=start, end=end):
        due_at = now + dt.timedelta(minutes=len(report.replayed) // REPLAY_MAX_PER_MINUTE)
        try:
            delivery_replay(delivery_id=delivery_id, reason=reason, now=now, due_at=due_at)
        except DeliveryNotReplayable as exc:
            report.skipped[delivery_id] = exc.message
        else:
            report.replayed.append(delivery_id)
    return report
