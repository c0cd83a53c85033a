"""One attempt of a delivery: claim it, sign and POST it, record what happened.

No transaction or lock is held across the HTTP call. The claim is a compare-and-set under a
row lock: only a due, active delivery is taken, and taking it counts the attempt and moves
`next_attempt_at` to the end of a lease. So a duplicate or redelivered task finds nothing to
do, a delivery recorded as succeeded is never sent again, and one whose worker died after
sending but before recording is sent again when the lease ends (same `webhook-id`, which is
what Standard Webhooks receivers dedupe on): at least once, never lost.

Time is passed in (`now`): the schedule, leases and signatures all use it.
"""

import datetime as dt
import json
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from webhooks.metrics import WEBHOOK_PROCESSING_DURATION
from webhooks.models import (
    WebhookAttempt,
    WebhookAttemptError,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEndpointDisabledReason,
    WebhookEndpointStatus,
)
from webhooks.outbound import transport
from webhooks.outbound.destinations import destination_check
from webhooks.outbound.endpoints import delivery_stop_status, endpoint_disable, signing_secrets
from webhooks.outbound.errors import DestinationUnresolvable, EndpointInvalid
from webhooks.outbound.queues import (
    ACTIVE_STATUSES,
    deliveries_enqueue_on_commit,
    deliveries_stop,
    dlq_push_on_commit,
)
from webhooks.outbound.representations import event_payload
from webhooks.outbound.schedule import MAX_ATTEMPTS, retry_after_parse, retry_delay
from webhooks.outbound.signing import signature_header

logger = logging.getLogger("webhooks.outbound.WebhookController")

FAILING_LIMIT = dt.timedelta(days=3)
GONE = 410
# A due delivery whose queued task has not started this long after it was queued is queued
# again: its message was lost (a broker restart, an enqueue that failed after commit).
REQUEUE_AFTER = dt.timedelta(minutes=5)
USER_AGENT = "Paydesk-Webhooks/1.0"


def lease_duration() -> dt.timedelta:
    """Longer than an attempt can take (resolve, connect, send, read, record): until then a
    claimed delivery belongs to the worker that claimed it."""
    return dt.timedelta(seconds=2 * settings.WEBHOOK_TIMEOUT_SECONDS + 60)


@dataclass(frozen=True)
class _Claim:
    delivery: WebhookDelivery
    number: int


def delivery_attempt(*, delivery_id: str, now: dt.datetime) -> WebhookAttempt | None:
    """Make the next attempt of a due delivery and record it. None when there was nothing to
    do: not due yet, finished, stopped, or claimed by another worker."""
    started = time.monotonic()
    claim = _claim(delivery_id, now)
    if claim is None:
        return None
    attempt = _send_and_record(claim, now)
    WEBHOOK_PROCESSING_DURATION.labels(direction="outbound").observe(time.monotonic() - started)
    return attempt


def deliveries_due(*, now: dt.datetime, limit: int = 500) -> list[str]:
    """Queue the due deliveries that have no task waiting on the queue. Returns their ids."""
    with transaction.atomic():
        delivery_ids = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(status__in=ACTIVE_STATUSES, next_attempt_at__lte=now)
            .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lte=now - REQUEUE_AFTER))
            .order_by("next_attempt_at")
            .values_list("id", flat=True)[:limit]
        )
        WebhookDelivery.objects.filter(pk__in=delivery_ids).update(enqueued_at=now)
        deliveries_enqueue_on_commit(delivery_ids)
    return delivery_ids


def _claim(delivery_id: str, now: dt.datetime) -> _Claim | None:
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint", "event")
            .filter(pk=delivery_id, status__in=ACTIVE_STATUSES, next_attempt_at__lte=now)
            .first()
        )
        if delivery is None:
            return None
        stop = _stop_instead(delivery)
        if stop is not None:
            status, reason = stop
            deliveries_stop(
                WebhookDelivery.objects.filter(pk=delivery.pk),
                status=status,
                reason=reason,
                now=now,
            )
            return None
        delivery.attempt_count += 1
        delivery.next_attempt_at = now + lease_duration()
        delivery.enqueued_at = None
        delivery.save(update_fields=["attempt_count", "next_attempt_at", "enqueued_at"])
    return _Claim(delivery=delivery, number=delivery.attempt_count)


def _stop_instead(delivery: WebhookDelivery) -> tuple[str, str] | None:
    """(status, reason) when a due delivery must end without another attempt."""
    endpoint = delivery.endpoint
    if endpoint.status != WebhookEndpointStatus.ENABLED or endpoint.deleted_at:
        # Created by a relay that read the endpoint just before it was disabled.
        return delivery_stop_status(endpoint), "endpoint disabled or deleted"
    if delivery.attempt_count >= MAX_ATTEMPTS:
        # Its last attempts were claimed but never recorded: whatever kills the worker (or
        # fails) between sending and recording must not have it retried forever.
        return WebhookDeliveryStatus.DEAD, "the last attempt was never recorded"
    return None


def _send_and_record(claim: _Claim, now: dt.datetime) -> WebhookAttempt:
    delivery, endpoint = claim.delivery, claim.delivery.endpoint
    body = json.dumps(event_payload(delivery.event), separators=(",", ":"))
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": delivery.event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(
            signing_secrets=signing_secrets(endpoint, now=now),
            message_id=delivery.event_id,
            timestamp=timestamp,
            body=body,
        ),
    }
    try:
        destination = destination_check(endpoint.url)
    except EndpointInvalid as refusal:
        kind = (
            WebhookAttemptError.DNS
            if isinstance(refusal, DestinationUnresolvable)
            else WebhookAttemptError.DESTINATION_REFUSED
        )
        result = transport.HttpResult(latency_ms=0, error_kind=kind, error=refusal.message)
    else:
        result = transport.post(
            destination,
            body=body.encode(),
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
        )
    return _record(claim, endpoint=endpoint, result=result, body=body, headers=headers, now=now)


def _record(
    claim: _Claim,
    *,
    endpoint: WebhookEndpoint,
    result: transport.HttpResult,
    body: str,
    headers: dict[str, str],
    now: dt.datetime,
) -> WebhookAttempt:
    with transaction.atomic():
        # The endpoint first (as every writer of both does: no deadlock), then the delivery.
        disabled = _endpoint_after_attempt(
            endpoint, result=result, now=now, in_flight=claim.delivery.pk
        )
        delivery = WebhookDelivery.objects.select_for_update().get(pk=claim.delivery.pk)
        attempt = WebhookAttempt.objects.create(
            delivery=delivery,
            number=claim.number,
            attempted_at=now,
            url=endpoint.url,
            request_headers=headers,
            request_body=body,
            response_status=result.status,
            response_body_excerpt=result.body_excerpt,
            latency_ms=result.latency_ms,
            succeeded=result.succeeded,
            error_kind=result.error_kind,
            error=result.error,
        )
        if delivery.status not in ACTIVE_STATUSES or delivery.attempt_count != claim.number:
            return attempt  # an operator or a later claim took it over: history only
        delivery.last_attempt_at = now
        delivery.last_response_status = result.status
        delivery.last_error = result.error
        if result.succeeded:
            delivery.status = WebhookDeliveryStatus.SUCCEEDED
            delivery.succeeded_at = now
            delivery.next_attempt_at = None
        else:
            retry_after = retry_after_parse(result.retry_after, now=now)
            delay = None if disabled else retry_delay(claim.number, retry_after=retry_after)
            if delay is None:
                delivery.status = WebhookDeliveryStatus.DEAD
                delivery.dead_lettered_at = now
                delivery.next_attempt_at = None
                dlq_push_on_commit([delivery.id])
            else:
                delivery.status = WebhookDeliveryStatus.RETRYING
                delivery.next_attempt_at = now + delay
        delivery.save()
    _log(delivery, attempt, disabled)
    return attempt


def _endpoint_after_attempt(
    endpoint: WebhookEndpoint, *, result: transport.HttpResult, now: dt.datetime, in_flight: str
) -> WebhookEndpoint | None:
    """Keep the endpoint's run of failures; disable it on 410 Gone or after three days of
    nothing but failures. Returns the endpoint if this attempt disabled it."""
    endpoints = WebhookEndpoint.objects.filter(pk=endpoint.pk)
    if result.succeeded:
        endpoints.filter(failing_since__isnull=False).update(failing_since=None)
        return None
    if result.status == GONE:
        return endpoint_disable(
            endpoint_id=endpoint.pk,
            reason=WebhookEndpointDisabledReason.GONE,
            now=now,
            in_flight=in_flight,
        )
    endpoints.filter(failing_since__isnull=True).update(failing_since=now)
    return endpoint_disable(
        endpoint_id=endpoint.pk,
        reason=WebhookEndpointDisabledReason.FAILING,
        now=now,
        failing_since_before=now - FAILING_LIMIT,
        in_flight=in_flight,
    )


def _log(
    delivery: WebhookDelivery, attempt: WebhookAttempt, disabled: WebhookEndpoint | None
) -> None:
    if attempt.succeeded:
        return
    logger.warning(
        "Webhook delivery %s to %s failed (attempt %s): %s",
        delivery.id,
        delivery.endpoint_id,
        attempt.number,
        attempt.error,
    )
    if disabled is not None:
        logger.error(
            "Webhook endpoint %s disabled: %s",
            disabled.id,
            WebhookEndpointDisabledReason(disabled.disabled_reason).label,
        )
    if delivery.status == WebhookDeliveryStatus.DEAD:
        logger.error(
            "Webhook delivery %s dead-lettered after %s attempts", delivery.id, attempt.number
        )
