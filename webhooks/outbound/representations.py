"""Public JSON shapes of outbound webhook objects, for the API and for webhook bodies. A
signing secret never appears here: it is returned once, beside the endpoint."""

from typing import Any

from webhooks.models import OutboxEvent, WebhookEndpoint


def endpoint_dict(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "object": "webhook_endpoint",
        "url": endpoint.url,
        "description": endpoint.description,
        "enabled_events": endpoint.enabled_events,
        "status": endpoint.status,
        "disabled_reason": endpoint.disabled_reason or None,
        "livemode": endpoint.livemode,
        "created": int(endpoint.created_at.timestamp()),
    }


def event_payload(event: OutboxEvent) -> dict[str, Any]:
    """The body of the webhook that carries `event`."""
    return {
        "id": event.id,
        "type": event.type,
        "created": int(event.created_at.timestamp()),
        "livemode": event.livemode,
        "data": event.data,
    }


def event_dict(event: OutboxEvent) -> dict[str, Any]:
    return {"object": "event", **event_payload(event)}
