"""Inbound gateway webhooks: store the raw request first, verify its signature, dedupe on the
provider's event id (a unique constraint), hand the work to the `webhook_queue` worker, and
answer at once. The worker applies the event in one transaction with the log's new status,
so a crash mid-task changes nothing and the redelivered task (acks_late) does it again.

An event about an object we do not know yet is kept and retried on a schedule, then
dead-lettered (status `dead`, id mirrored in the Redis list `webhook_dlq` as
`webhook_log:<id>`) for an operator to replay or resolve.
"""

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import audit_record, security_event_record
from payments.gateways.interface import (
    GatewayEvent,
    WebhookSignatureError,
    WebhookVerificationUnavailable,
)
from payments.gateways.paypal_gateway import (
    paypal_event_read,
    paypal_event_verify,
    paypal_platform_client,
)
from payments.gateways.stripe_gateway import stripe_event_read, stripe_event_verify
from payments.services.gateway_events import UnknownGatewayObject, gateway_event_apply
from webhooks.dead_letters import dlq_push, dlq_remove
from webhooks.models import WebhookLog, WebhookLogStatus

logger = logging.getLogger("payments.InboundWebhooks")

L = WebhookLogStatus
# After the first failed try: when to try again. Then dead-lettered.
RETRY_SCHEDULE = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=12),
)
# Request headers never stored (credentials of whoever sent it).
_UNSTORED_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


def _verify_stripe(body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
    signature = headers.get("Stripe-Signature", "")
    if not signature:
        raise WebhookSignatureError("missing Stripe-Signature header")
    return stripe_event_verify(body, signature, settings.STRIPE_WEBHOOK_SECRET)


def _verify_paypal(body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
    configured = settings.PAYPAL_CLIENT_ID and settings.PAYPAL_CLIENT_SECRET
    client = (
        paypal_platform_client(
            settings.PAYPAL_CLIENT_ID, settings.PAYPAL_CLIENT_SECRET, settings.PAYPAL_API_BASE
        )
        if configured
        else None
    )
    return paypal_event_verify(body, headers, webhook_id=settings.PAYPAL_WEBHOOK_ID, client=client)


VERIFIERS: dict[str, Callable[[bytes, Mapping[str, str]], GatewayEvent]] = {
    "stripe": _verify_stripe,
    "paypal": _verify_paypal,
}
READERS: dict[str, Callable[[dict[str, Any]], GatewayEvent]] = {
    "stripe": stripe_event_read,
    "paypal": paypal_event_read,
}


def webhook_receive(
    *, provider: str, headers: Mapping[str, str], body: bytes, source_ip: str | None
) -> tuple[WebhookLog, bool]:
    """Store, verify, dedupe, enqueue. Returns the log row and whether it was accepted. One
    not accepted is REJECTED (the signature was refused: the caller answers 400), or still
    RECEIVED when the signature could not be checked (the caller answers 503, and the
    provider delivers it again)."""
    log = WebhookLog.objects.create(
        provider=provider,
        headers={k: v for k, v in headers.items() if k.lower() not in _UNSTORED_HEADERS},
        body=body.decode("utf-8", errors="replace"),
        source_ip=source_ip,
    )
    try:
        event = VERIFIERS[provider](body, headers)
    except WebhookVerificationUnavailable as exc:
        # Not the sender's doing: no security event, and nothing to process until it is
        # verified.
        log.last_error = str(exc)[:500]
        log.save(update_fields=["last_error"])
        logger.warning("Could not verify %s webhook %s: %s", provider, log.id, exc)
        return log, False
    except WebhookSignatureError as exc:
        log.status, log.last_error = L.REJECTED, str(exc)[:500]
        log.save(update_fields=["status", "last_error"])
        security_event_record(
            event_type="webhook.signature_invalid",
            details={"provider": provider, "webhook_log": log.id, "reason": str(exc)[:200]},
        )
        logger.warning("Rejected %s webhook %s: %s", provider, log.id, exc)
        return log, False
    log.event_type = event.event_type[:100]
    try:
        with transaction.atomic():
            log.event_id, log.status = event.event_id[:255], L.QUEUED
            log.object_reference = event.reference[:255]
            log.charge_reference = (event.payment_reference or event.reference)[:255]
            log.save(
                update_fields=[
                    "event_id",
                    "event_type",
                    "status",
                    "object_reference",
                    "charge_reference",
                ]
            )
    except IntegrityError:
        log.event_id, log.status = "", L.DUPLICATE
        log.last_error = f"duplicate of event {event.event_id[:200]}"
        log.save(update_fields=["event_type", "status", "last_error"])
        return log, True
    _enqueue(log.id)
    return log, True


def _enqueue(log_id: int) -> None:
    from payments.tasks import inbound_webhook_process_task  # tasks import this module

    transaction.on_commit(lambda: inbound_webhook_process_task.delay(log_id))


def webhook_process(log_id: int, *, now: dt.datetime | None = None) -> str | None:
    """Apply one stored webhook (the worker's job). Returns its new status, or None when it
    was not due or another worker has it."""
    now = now or timezone.now()
    started = time.monotonic()
    with transaction.atomic():
        log = (
            WebhookLog.objects.select_for_update(skip_locked=True)
            .filter(pk=log_id, status__in=(L.QUEUED, L.RETRYING))
            .first()
        )
        if log is None or (log.next_attempt_at and log.next_attempt_at > now):
            return None
        log.attempts += 1
        try:
            with transaction.atomic():
                outcome = gateway_event_apply(
                    log.provider, READERS[log.provider](json.loads(log.body))
                )
        except UnknownGatewayObject as exc:
            _retry_or_dead(log, now, str(exc))
        else:
            log.status = L.IGNORED if outcome == "ignored" else L.PROCESSED
            log.last_error = "" if outcome != "unchanged" else "already in that state"
            log.processed_at, log.next_attempt_at = now, None
        log.save()
    _observe(time.monotonic() - started)
    return log.status


def _retry_or_dead(log: WebhookLog, now: dt.datetime, error: str) -> None:
    log.last_error = error[:500]
    if log.attempts <= len(RETRY_SCHEDULE):
        log.status, log.next_attempt_at = L.RETRYING, now + RETRY_SCHEDULE[log.attempts - 1]
        return
    log.status, log.next_attempt_at = L.DEAD, None
    log_id = log.id
    transaction.on_commit(lambda: dlq_push(f"webhook_log:{log_id}"))
    logger.error(
        "Dead-lettered %s webhook %s after %d tries: %s", log.provider, log.id, log.attempts, error
    )


def webhooks_due(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Ids of retrying webhooks whose time has come (the beat task enqueues them)."""
    now = now or timezone.now()
    return list(
        WebhookLog.objects.filter(status=L.RETRYING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )


def webhook_replay(*, log_id: int, operator: str) -> WebhookLog:
    """Put a dead-lettered (or failed) webhook back on the queue, once more from scratch."""
    with transaction.atomic():
        log = WebhookLog.objects.select_for_update().get(pk=log_id)
        if log.status not in (L.DEAD, L.RETRYING):
            return log
        old = {"status": log.status, "attempts": log.attempts}
        log.status, log.attempts, log.next_attempt_at = L.QUEUED, 0, None
        log.save(update_fields=["status", "attempts", "next_attempt_at"])
        audit_record(
            action="webhook_log.replayed",
            resource_type="webhook_log",
            resource_id=str(log.id),
            old=old,
            new={"status": log.status, "operator": operator},
        )
        transaction.on_commit(lambda: dlq_remove(f"webhook_log:{log_id}"))
        _enqueue(log.id)
    return log


def webhooks_replay_window(
    *, start: dt.datetime, end: dt.datetime, operator: str, dry_run: bool = False
) -> list[int]:
    """Replay the dead-lettered inbound webhooks received in [start, end]; returns their ids."""
    dead = list(
        WebhookLog.objects.filter(status=L.DEAD, received_at__gte=start, received_at__lte=end)
        .order_by("received_at")
        .values_list("id", flat=True)
    )
    if not dry_run:
        for log_id in dead:
            webhook_replay(log_id=log_id, operator=operator)
    return dead


def webhook_logs_purge(*, older_than: dt.timedelta = dt.timedelta(days=30)) -> int:
    """Retention: delete webhook logs older than 30 days, except dead-lettered ones that no
    operator has resolved."""
    cutoff = timezone.now() - older_than
    deleted, _ = (
        WebhookLog.objects.filter(created_at__lt=cutoff)
        .exclude(status=L.DEAD, resolved_at__isnull=True)
        .delete()
    )
    return deleted


def _observe(seconds: float) -> None:
    from webhooks.metrics import WEBHOOK_PROCESSING_DURATION

    WEBHOOK_PROCESSING_DURATION.labels("inbound").observe(seconds)
