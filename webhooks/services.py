"""Webhook transport. Other apps publish outbound events through `event_publish`."""

from typing import Any

from config.db.build import build
from webhooks.models import OutboxEvent


def event_build(
    *, merchant_id: str, event_type: str, data: dict[str, Any], livemode: bool = False
) -> OutboxEvent:
    """Build (not save) an outbound event, for a caller that writes it in the same statement
    as its change."""
    return build(
        OutboxEvent, merchant_id=merchant_id, type=event_type, data=data, livemode=livemode
    )


def event_publish(**event: Any) -> OutboxEvent:
    """Write an outbound event (arguments as `event_build`) to the outbox. Call inside the
    transaction of the change."""
    row = event_build(**event)
    row.save(force_insert=True)
    return row
