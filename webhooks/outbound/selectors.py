"""Reads for the merchant API: always scoped to one merchant and mode."""

from django.db.models import QuerySet

from webhooks.models import OutboxEvent, WebhookEndpoint
from webhooks.outbound.errors import ObjectMissing


def endpoint_queryset(*, merchant_id: str, livemode: bool) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(
        merchant_id=merchant_id, livemode=livemode, deleted_at__isnull=True
    )


def endpoint_get(*, merchant_id: str, livemode: bool, endpoint_id: str) -> WebhookEndpoint:
    endpoints = endpoint_queryset(merchant_id=merchant_id, livemode=livemode)
    endpoint = endpoints.filter(pk=endpoint_id).first()
    if endpoint is None:
        raise ObjectMissing("webhook_endpoint", endpoint_id)
    return endpoint


def event_queryset(
    *, merchant_id: str, livemode: bool, event_type: str | None = None
) -> QuerySet[OutboxEvent]:
    events = OutboxEvent.objects.filter(merchant_id=merchant_id, livemode=livemode)
    return events.filter(type=event_type) if event_type else events


def event_get(*, merchant_id: str, livemode: bool, event_id: str) -> OutboxEvent:
    event = event_queryset(merchant_id=merchant_id, livemode=livemode).filter(pk=event_id).first()
    if event is None:
        raise ObjectMissing("event", event_id)
    return event
