"""The runbook's webhook metrics: processing time per delivery, queue depth and DLQ size."""

from django.utils import timezone
from prometheus_client import REGISTRY

from tests.webhooks.helpers import attempt_at, endpoint_for, publish
from webhooks.models import WebhookDelivery
from webhooks.outbound.relay import outbox_relay
from webhooks.outbound.tasks import deliveries_due_task


def test_each_outbound_delivery_attempt_is_timed(merchant, receiver):
    endpoint_for(merchant, receiver.url())
    event = publish(merchant)
    now = timezone.now()
    outbox_relay(now=now)
    labels = {"direction": "outbound"}
    before = REGISTRY.get_sample_value("webhook_processing_duration_seconds_count", labels) or 0

    attempt_at(WebhookDelivery.objects.get(event=event), now)

    after = REGISTRY.get_sample_value("webhook_processing_duration_seconds_count", labels)
    assert after == before + 1


def test_the_due_deliveries_task_reports_queue_depth_and_dlq_size_from_redis(db, dlq):
    dlq.rpush("webhook_dlq", "whd_a", "whd_b")

    deliveries_due_task()

    assert REGISTRY.get_sample_value("webhook_dlq_size") == 2
    assert REGISTRY.get_sample_value("webhook_queue_depth") == dlq.llen("webhook_queue")
