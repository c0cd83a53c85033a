"""Merchant webhook endpoints: create, update, delete, roll the signing secret, disable.

Every change is audited in its transaction. URLs pass the SSRF guard when they are saved
(and again before every attempt). Signing secrets are generated here, returned once and
stored only sealed (`config.keys.secret_seal`, bound to the endpoint id).
"""

import datetime as dt
import re
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from config.keys import secret_open, secret_seal
from webhooks.models import (
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEndpointDisabledReason,
    WebhookEndpointStatus,
)
from webhooks.outbound.audit_actions import AuditAction
from webhooks.outbound.destinations import destination_check
from webhooks.outbound.errors import EndpointInvalid, ObjectMissing
from webhooks.outbound.queues import deliveries_stop
from webhooks.outbound.representations import endpoint_dict
from webhooks.outbound.selectors import endpoint_queryset
from webhooks.outbound.signing import secret_generate
from webhooks.services import event_publish

# Per merchant and mode, as at Stripe: every endpoint multiplies every event's deliveries.
# A soft limit (two concurrent creations may pass it by one).
MAX_ENDPOINTS = 16
MAX_EVENT_TYPES = 100
ALL_EVENTS = "*"
_EVENT_TYPE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
PREVIOUS_SECRET_VALIDITY = dt.timedelta(hours=24)
ENDPOINT_DISABLED_EVENT = "webhook_endpoint.disabled"


@dataclass(frozen=True)
class EndpointWithSecret:
    """A created endpoint, or one whose secret was rolled. `secret` exists only here: show
    it once."""

    endpoint: WebhookEndpoint
    secret: str


def enabled_events_validate(enabled_events: list[str]) -> list[str]:
    events = list(dict.fromkeys(enabled_events))
    if not events:
        raise EndpointInvalid(
            'enabled_events needs at least one event type, or "*" for all.',
            param="enabled_events",
        )
    if len(events) > MAX_EVENT_TYPES:
        raise EndpointInvalid(
            f"enabled_events holds at most {MAX_EVENT_TYPES} types.", param="enabled_events"
        )
    for event_type in events:
        if event_type != ALL_EVENTS and not (
            len(event_type) <= 100 and _EVENT_TYPE.fullmatch(event_type)
        ):
            raise EndpointInvalid(
                f"{event_type[:100]!r} is not an event type: use names like "
                '"payment.completed", or "*" for all.',
                param="enabled_events",
            )
    return events


def endpoint_subscribes(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return ALL_EVENTS in endpoint.enabled_events or event_type in endpoint.enabled_events


def endpoint_create(
    *,
    merchant_id: str,
    livemode: bool,
    url: str,
    enabled_events: list[str],
    description: str = "",
) -> EndpointWithSecret:
    destination_check(url)
    events = enabled_events_validate(enabled_events)
    with transaction.atomic():
        if endpoint_queryset(merchant_id=merchant_id, livemode=livemode).count() >= MAX_ENDPOINTS:
            raise EndpointInvalid(f"A merchant has at most {MAX_ENDPOINTS} webhook endpoints.")
        endpoint = WebhookEndpoint(
            merchant_id=merchant_id,
            livemode=livemode,
            url=url,
            description=description,
            enabled_events=events,
        )
        secret = secret_generate()
        endpoint.secret_key_version, endpoint.secret_sealed = secret_seal(
            secret.encode(), associated=endpoint.id
        )
        endpoint.save(force_insert=True)
        audit_record(
            action=AuditAction.ENDPOINT_CREATED,
            resource_type="webhook_endpoint",
            resource_id=endpoint.id,
            new=endpoint_dict(endpoint),
        )
    return EndpointWithSecret(endpoint=endpoint, secret=secret)


def _locked(*, merchant_id: str, livemode: bool, endpoint_id: str) -> WebhookEndpoint:
    endpoint = (
        endpoint_queryset(merchant_id=merchant_id, livemode=livemode)
        .select_for_update()
        .filter(pk=endpoint_id)
        .first()
    )
    if endpoint is None:
        raise ObjectMissing("webhook_endpoint", endpoint_id)
    return endpoint


def endpoint_update(
    *,
    merchant_id: str,
    livemode: bool,
    endpoint_id: str,
    url: str | None = None,
    enabled_events: list[str] | None = None,
    description: str | None = None,
    disabled: bool | None = None,
    now: dt.datetime | None = None,
) -> WebhookEndpoint:
    """Change what was given (None: unchanged). `disabled=True` cancels the deliveries still
    waiting; `disabled=False` enables the endpoint again, whoever disabled it."""
    now = now or timezone.now()
    if url is not None:
        destination_check(url)
    if enabled_events is not None:
        enabled_events = enabled_events_validate(enabled_events)
    with transaction.atomic():
        endpoint = _locked(merchant_id=merchant_id, livemode=livemode, endpoint_id=endpoint_id)
        old = endpoint_dict(endpoint)
        if url is not None:
            endpoint.url = url
        if enabled_events is not None:
            endpoint.enabled_events = enabled_events
        if description is not None:
            endpoint.description = description
        if disabled and endpoint.status == WebhookEndpointStatus.ENABLED:
            _disable(endpoint, reason=WebhookEndpointDisabledReason.MERCHANT, now=now)
        elif disabled is False:
            endpoint.status = WebhookEndpointStatus.ENABLED
            endpoint.disabled_reason = ""
            endpoint.disabled_at = endpoint.failing_since = None
        endpoint.save()
        audit_record(
            action=AuditAction.ENDPOINT_UPDATED,
            resource_type="webhook_endpoint",
            resource_id=endpoint.id,
            old=old,
            new=endpoint_dict(endpoint),
        )
    return endpoint


def endpoint_delete(
    *, merchant_id: str, livemode: bool, endpoint_id: str, now: dt.datetime | None = None
) -> WebhookEndpoint:
    """Delete for the merchant (the row stays for its deliveries' history); deliveries still
    waiting are cancelled."""
    now = now or timezone.now()
    with transaction.atomic():
        endpoint = _locked(merchant_id=merchant_id, livemode=livemode, endpoint_id=endpoint_id)
        endpoint.deleted_at = now
        endpoint.save(update_fields=["deleted_at", "updated_at"])
        deliveries_stop(
            endpoint.deliveries.all(),
            status=WebhookDeliveryStatus.CANCELLED,
            reason="endpoint deleted",
            now=now,
        )
        audit_record(
            action=AuditAction.ENDPOINT_DELETED,
            resource_type="webhook_endpoint",
            resource_id=endpoint.id,
            old=endpoint_dict(endpoint),
        )
    return endpoint


def endpoint_secret_roll(
    *, merchant_id: str, livemode: bool, endpoint_id: str, now: dt.datetime | None = None
) -> EndpointWithSecret:
    """A new signing secret; the current one keeps signing beside it for 24 hours, so the
    merchant can switch receivers over without dropping webhooks. Rolling again within those
    24 hours retires the oldest secret at once: only one previous secret is kept."""
    now = now or timezone.now()
    with transaction.atomic():
        endpoint = _locked(merchant_id=merchant_id, livemode=livemode, endpoint_id=endpoint_id)
        # Both secrets are sealed bound to the endpoint id, so the sealed bytes move as they
        # are: the current secret is never decrypted here.
        endpoint.previous_secret_sealed = endpoint.secret_sealed
        endpoint.previous_secret_key_version = endpoint.secret_key_version
        endpoint.previous_secret_expires_at = now + PREVIOUS_SECRET_VALIDITY
        secret = secret_generate()
        endpoint.secret_key_version, endpoint.secret_sealed = secret_seal(
            secret.encode(), associated=endpoint.id
        )
        endpoint.save()
        audit_record(
            action=AuditAction.ENDPOINT_SECRET_ROLLED,
            resource_type="webhook_endpoint",
            resource_id=endpoint.id,
            new={"previous_secret_expires_at": endpoint.previous_secret_expires_at.isoformat()},
        )
    return EndpointWithSecret(endpoint=endpoint, secret=secret)


def signing_secrets(endpoint: WebhookEndpoint, *, now: dt.datetime) -> list[str]:
    """The secrets that sign a webhook sent at `now`: the current one, and the previous one
    while it is still valid after a roll."""
    sealed = [(endpoint.secret_sealed, endpoint.secret_key_version)]
    expires_at = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_sealed is not None and expires_at and expires_at > now:
        sealed.append((endpoint.previous_secret_sealed, endpoint.previous_secret_key_version))
    return [
        secret_open(bytes(value), version=version, associated=endpoint.id).decode()
        for value, version in sealed
    ]


def delivery_stop_status(endpoint: WebhookEndpoint) -> str:
    """What becomes of a waiting delivery when its endpoint no longer takes deliveries: the
    merchant's own choice (disable, delete) cancels it; a disable for failures or by an
    operator dead-letters it, for an operator to replay once the endpoint works."""
    if endpoint.deleted_at or endpoint.disabled_reason == WebhookEndpointDisabledReason.MERCHANT:
        return WebhookDeliveryStatus.CANCELLED
    return WebhookDeliveryStatus.DEAD


def endpoint_disable(
    *,
    endpoint_id: str,
    reason: str,
    now: dt.datetime,
    note: str = "",
    failing_since_before: dt.datetime | None = None,
    in_flight: str | None = None,
) -> WebhookEndpoint | None:
    """Disable an enabled endpoint for `reason` (not the merchant's: see `endpoint_update`),
    tell its merchant with a `webhook_endpoint.disabled` event, and dead-letter the
    deliveries still waiting, except `in_flight` (its caller records it). With
    `failing_since_before`, only an endpoint failing since before then. Returns the
    endpoint, or None when it was left as it was."""
    with transaction.atomic():
        endpoints = WebhookEndpoint.objects.select_for_update().filter(
            pk=endpoint_id, status=WebhookEndpointStatus.ENABLED, deleted_at__isnull=True
        )
        if failing_since_before is not None:
            endpoints = endpoints.filter(failing_since__lte=failing_since_before)
        endpoint = endpoints.first()
        if endpoint is None:
            return None
        _disable(endpoint, reason=reason, now=now, in_flight=in_flight)
        endpoint.save()
        event_publish(
            merchant_id=endpoint.merchant_id,
            event_type=ENDPOINT_DISABLED_EVENT,
            data=endpoint_dict(endpoint),
            livemode=endpoint.livemode,
        )
        audit_record(
            action=AuditAction.ENDPOINT_DISABLED,
            resource_type="webhook_endpoint",
            resource_id=endpoint.id,
            old={"status": WebhookEndpointStatus.ENABLED},
            new={"status": endpoint.status, "disabled_reason": reason, "note": note},
        )
    return endpoint


def _disable(
    endpoint: WebhookEndpoint, *, reason: str, now: dt.datetime, in_flight: str | None = None
) -> None:
    endpoint.status = WebhookEndpointStatus.DISABLED
    endpoint.disabled_reason = reason
    endpoint.disabled_at = now
    waiting = endpoint.deliveries.exclude(pk=in_flight) if in_flight else endpoint.deliveries.all()
    deliveries_stop(
        waiting,
        status=delivery_stop_status(endpoint),
        reason=f"endpoint disabled ({WebhookEndpointDisabledReason(reason).label})",
        now=now,
    )
