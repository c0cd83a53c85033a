"""The outbox relay fans each event out once, to the matching enabled endpoints of its
merchant and mode, and queues the deliveries only after they are committed."""

import pytest
from django.utils import timezone

from tests.concurrency import run_concurrently
from tests.webhooks.helpers import endpoint_for, publish
from webhooks.models import OutboxEvent, WebhookDelivery
from webhooks.outbound.endpoints import endpoint_delete, endpoint_update
from webhooks.outbound.relay import outbox_relay


def test_relay_creates_deliveries_only_for_matching_enabled_endpoints(
    merchant, other_merchant, receiver
):
    url = receiver.url()
    everything = endpoint_for(merchant, url).endpoint
    completed_only = endpoint_for(merchant, url, events=("payment.completed",)).endpoint
    endpoint_for(merchant, url, events=("refund.completed", "payment.failed"))
    endpoint_for(merchant, url, livemode=True)
    endpoint_for(other_merchant, url)
    disabled = endpoint_for(merchant, url).endpoint
    endpoint_update(merchant_id=merchant.id, livemode=False, endpoint_id=disabled.id, disabled=True)
    deleted = endpoint_for(merchant, url).endpoint
    endpoint_delete(merchant_id=merchant.id, livemode=False, endpoint_id=deleted.id)
    now = timezone.now()

    event = publish(merchant, "payment.completed")
    endpoint_for(merchant, url)  # created after the event: not for it
    dispatched = outbox_relay(now=now)

    deliveries = WebhookDelivery.objects.filter(event=event)
    assert dispatched == 1
    assert {delivery.endpoint_id for delivery in deliveries} == {
        everything.id,
        completed_only.id,
    }
    assert all(
        (d.status, d.next_attempt_at, d.merchant_id, d.event_type)
        == ("pending", now, merchant.id, "payment.completed")
        for d in deliveries
    )
    event.refresh_from_db()
    assert event.dispatched_at == now
    assert outbox_relay(now=now) == 0
    assert WebhookDelivery.objects.count() == 2


def test_relay_queues_deliveries_only_once_they_are_committed(
    merchant, receiver, enqueued, django_capture_on_commit_callbacks
):
    endpoint_for(merchant, receiver.url())
    event = publish(merchant)

    with django_capture_on_commit_callbacks() as callbacks:
        outbox_relay()
        assert enqueued == []

    for callback in callbacks:
        callback()
    assert enqueued == [WebhookDelivery.objects.get(event=event).id]


@pytest.mark.django_db(transaction=True)
def test_relays_running_at_once_dispatch_every_event_exactly_once(merchant, receiver, enqueued):
    endpoints = [endpoint_for(merchant, receiver.url()).endpoint for _ in range(2)]
    events = [publish(merchant) for _ in range(60)]

    def relay_until_empty() -> int:
        total = 0
        while dispatched := outbox_relay(batch_size=5, max_batches=1):
            total += dispatched
        return total

    totals = run_concurrently(3, relay_until_empty)

    assert sum(totals) == len(events)
    pairs = list(WebhookDelivery.objects.values_list("endpoint_id", "event_id"))
    assert len(pairs) == len(set(pairs)) == len(events) * len(endpoints)
    assert not OutboxEvent.objects.filter(dispatched_at__isnull=True).exists()
    assert sorted(enqueued) == sorted(WebhookDelivery.objects.values_list("id", flat=True))
