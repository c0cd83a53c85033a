"""The outbox relay: fan each outbox event out, once, into one delivery per enabled endpoint
of its merchant and mode that subscribes to its type, and queue those deliveries.

Runs every few seconds (beat) and is safe to run concurrently with itself: each batch locks
its events with `FOR UPDATE SKIP LOCKED`, so two relays take disjoint batches, and creates the
deliveries in the transaction that marks the events dispatched (a unique constraint on
endpoint + event backs that up). Deliveries are queued once that transaction commits.
"""

import datetime as dt
from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from webhooks.models import OutboxEvent, WebhookDelivery, WebhookEndpoint, WebhookEndpointStatus
from webhooks.outbound.endpoints import endpoint_subscribes
from webhooks.outbound.queues import deliveries_enqueue_on_commit

DEFAULT_BATCH_SIZE = 100
# Batches per run: a backlog drains in a few runs without one run holding a worker for long.
MAX_BATCHES = 20


def outbox_relay(
    *,
    now: dt.datetime | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_batches: int = MAX_BATCHES,
) -> int:
    """Dispatch waiting outbox events, one transaction per batch. Returns how many."""
    now = now or timezone.now()
    dispatched = 0
    for _ in range(max_batches):
        count = _relay_batch(now=now, batch_size=batch_size)
        dispatched += count
        if count < batch_size:
            break
    return dispatched


@transaction.atomic
def _relay_batch(*, now: dt.datetime, batch_size: int) -> int:
    events = list(
        OutboxEvent.objects.select_for_update(skip_locked=True)
        .filter(dispatched_at__isnull=True)
        .order_by("created_at")[:batch_size]
    )
    if not events:
        return 0
    endpoints_of: dict[tuple[str, bool], list[WebhookEndpoint]] = defaultdict(list)
    for endpoint in WebhookEndpoint.objects.filter(
        merchant_id__in={event.merchant_id for event in events},
        status=WebhookEndpointStatus.ENABLED,
        deleted_at__isnull=True,
    ):
        endpoints_of[endpoint.merchant_id, endpoint.livemode].append(endpoint)
    deliveries = [
        WebhookDelivery(
            endpoint=endpoint,
            event=event,
            merchant_id=event.merchant_id,
            event_type=event.type,
            livemode=event.livemode,
            next_attempt_at=now,
            enqueued_at=now,
        )
        for event in events
        for endpoint in endpoints_of[event.merchant_id, event.livemode]
        # An endpoint receives what happens after it is created, not the backlog before it.
        if endpoint.created_at <= event.created_at and endpoint_subscribes(endpoint, event.type)
    ]
    WebhookDelivery.objects.bulk_create(deliveries)
    OutboxEvent.objects.filter(pk__in=[event.pk for event in events]).update(dispatched_at=now)
    deliveries_enqueue_on_commit([delivery.id for delivery in deliveries])
    return len(events)
