"""Audit action names written by the outbound webhook services."""

from enum import StrEnum


class AuditAction(StrEnum):
    ENDPOINT_CREATED = "webhook_endpoint.created"
    ENDPOINT_UPDATED = "webhook_endpoint.updated"
    ENDPOINT_DELETED = "webhook_endpoint.deleted"
    ENDPOINT_SECRET_ROLLED = "webhook_endpoint.secret_rolled"  # noqa: S105 (an action name)
    ENDPOINT_DISABLED = "webhook_endpoint.disabled"
    ENDPOINT_ENABLED = "webhook_endpoint.enabled"
    DELIVERY_REPLAYED = "webhook_delivery.replayed"
    DELIVERY_RESOLVED = "webhook_delivery.resolved"
