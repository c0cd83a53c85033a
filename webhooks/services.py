"""Webhook transport. Other apps publish outbound events through `event_publish`."""

from typing import Any

from webhooks.models import OutboxEvent


def event_publish(
    *, merchant_id: str, event_type: str, data: dict[str, Any], livemode: bool = False
) -> OutboxEvent:
    """Write an outbound event to the outbox. Call inside the transaction of the change."""
    return OutboxEvent.objects.create(
        merchant_id=merchant_id, type=event_type, data=data, livemode=livemode
    )
