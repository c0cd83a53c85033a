"""The two queues a delivery can be on: the Celery queue `webhook_queue` (to be attempted)
and the Redis list `webhook_dlq` (dead-lettered, for operators). Both are touched only once
the database change that puts a delivery there has committed; the database stays the record.
"""

import datetime as dt
from functools import partial

from django.db import transaction
from django.db.models import QuerySet

from webhooks.dead_letters import dlq_push, dlq_remove
from webhooks.models import WebhookDelivery, WebhookDeliveryStatus

ACTIVE_STATUSES = (WebhookDeliveryStatus.PENDING, WebhookDeliveryStatus.RETRYING)


def deliveries_enqueue_on_commit(delivery_ids: list[str]) -> None:
    if delivery_ids:
        transaction.on_commit(partial(_enqueue, list(delivery_ids)))


def _enqueue(delivery_ids: list[str]) -> None:
    from webhooks.outbound.tasks import delivery_attempt_task  # tasks imports this module

    for delivery_id in delivery_ids:
        delivery_attempt_task.delay(delivery_id)


def dlq_push_on_commit(delivery_ids: list[str]) -> None:
    if delivery_ids:
        transaction.on_commit(partial(dlq_push, *delivery_ids))


def dlq_remove_on_commit(delivery_ids: list[str]) -> None:
    if delivery_ids:
        transaction.on_commit(partial(dlq_remove, *delivery_ids))


def deliveries_stop(
    deliveries: QuerySet[WebhookDelivery], *, status: str, reason: str, now: dt.datetime
) -> list[str]:
    """End the still active ones among `deliveries` without another attempt: dead-lettered
    (DEAD) or CANCELLED. Returns their ids."""
    delivery_ids = list(
        deliveries.filter(status__in=ACTIVE_STATUSES)
        .select_for_update()
        .values_list("id", flat=True)
    )
    WebhookDelivery.objects.filter(pk__in=delivery_ids).update(
        status=status,
        next_attempt_at=None,
        enqueued_at=None,
        last_error=reason[:500],
        dead_lettered_at=now if status == WebhookDeliveryStatus.DEAD else None,
        updated_at=now,
    )
    if status == WebhookDeliveryStatus.DEAD:
        dlq_push_on_commit(delivery_ids)
    return delivery_ids
