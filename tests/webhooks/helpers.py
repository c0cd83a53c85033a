"""Shorthands for the outbound webhook tests."""

import datetime as dt
from typing import Any

from webhooks.models import OutboxEvent, WebhookAttempt, WebhookDelivery
from webhooks.outbound.delivery import delivery_attempt
from webhooks.outbound.endpoints import EndpointWithSecret, endpoint_create
from webhooks.services import event_publish


def endpoint_for(
    merchant: Any, url: str, *, events: tuple[str, ...] = ("*",), livemode: bool = False
) -> EndpointWithSecret:
    return endpoint_create(
        merchant_id=merchant.id, livemode=livemode, url=url, enabled_events=list(events)
    )


def publish(
    merchant: Any, event_type: str = "payment.completed", *, livemode: bool = False
) -> OutboxEvent:
    return event_publish(
        merchant_id=merchant.id,
        event_type=event_type,
        data={"object": {"id": "pay_123", "amount": 1050, "currency": "USD"}},
        livemode=livemode,
    )


def attempt_at(delivery: WebhookDelivery, now: dt.datetime) -> WebhookAttempt | None:
    attempt = delivery_attempt(delivery_id=delivery.id, now=now)
    delivery.refresh_from_db()
    return attempt
