"""Celery tasks of outbound webhooks (queue `webhook_queue`, by the `webhooks.*` route).
Thin: each calls a service with the current time. All are idempotent and acks_late."""

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from webhooks.dead_letters import DLQ_KEY, redis_list_length
from webhooks.metrics import WEBHOOK_DLQ_SIZE, WEBHOOK_QUEUE_DEPTH
from webhooks.outbound.delivery import deliveries_due, delivery_attempt
from webhooks.outbound.relay import outbox_relay

WEBHOOK_QUEUE = "webhook_queue"


@shared_task(acks_late=True, ignore_result=True)
def outbox_relay_task() -> int:
    """Every few seconds (beat): fan new outbox events out into deliveries."""
    return outbox_relay(now=timezone.now())


@shared_task(acks_late=True, ignore_result=True)
def deliveries_due_task() -> int:
    """Every few seconds (beat): queue the deliveries whose next attempt is due, and refresh
    the queue gauges from Redis."""
    queued = deliveries_due(now=timezone.now())
    for gauge, key in ((WEBHOOK_QUEUE_DEPTH, WEBHOOK_QUEUE), (WEBHOOK_DLQ_SIZE, DLQ_KEY)):
        length = redis_list_length(key)
        if length is not None:
            gauge.set(length)
    return len(queued)


# A hard stop well past the HTTP timeout, for an attempt stuck outside it (a slow DNS
# answer); its delivery is tried again when its lease ends.
@shared_task(
    acks_late=True,
    ignore_result=True,
    soft_time_limit=settings.WEBHOOK_TIMEOUT_SECONDS + 30,
    time_limit=settings.WEBHOOK_TIMEOUT_SECONDS + 45,
)
def delivery_attempt_task(delivery_id: str) -> str:
    attempt = delivery_attempt(delivery_id=delivery_id, now=timezone.now())
    if attempt is None:
        return "nothing due"
    return f"attempt {attempt.number}: {attempt.error or 'ok'}"
