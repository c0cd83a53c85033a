"""Recovery: settle payments and refunds left PROCESSING because the answer to their gateway
call was lost (a crash, a timeout), by asking the gateway what it recorded under our
idempotency key. Nothing is guessed: no answer means ask again later, on Kill Bill's janitor
schedule (5 minutes after the operation stalled, then 1 hour, then daily for 5 days), and
after the last try an operator is flagged.

The gateway's answer goes through the same step-3 code as a live answer (`payment_settle`,
`refund_settle`), whose compare-and-set leaves alone anything settled meanwhile.
"""

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from audit.models import AuditResult
from audit.services import audit_record
from payments import metrics
from payments.gateways.interface import GatewayNoRecordError, Outcome
from payments.models import Payment, PaymentStatus, RecoveryCheck, Refund, RefundStatus
from payments.services.gateway_calls import GatewayCall, gateway_call
from payments.services.payments import gateway_idempotency_key, payment_settle
from payments.services.refunds import refund_settle

logger = logging.getLogger("payments.RecoveryService")

# When to ask, counted from when the operation stalled; after the last, flag an operator.
SCHEDULE = (
    dt.timedelta(minutes=5),
    dt.timedelta(hours=1),
    *(dt.timedelta(days=day) for day in range(1, 6)),
)


@dataclass
class RecoveryReport:
    settled: list[str] = field(default_factory=list)
    never_happened: list[str] = field(default_factory=list)
    retry_later: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)


def recovery_run(*, now: dt.datetime | None = None, limit: int = 200) -> RecoveryReport:
    """Ask the gateway about every stalled operation that is due. Safe to run concurrently
    with itself and with live traffic: each settlement is a compare-and-set."""
    now = now or timezone.now()
    stalled_before = now - SCHEDULE[0]
    report = RecoveryReport()
    payments = Payment.objects.select_related("payment_method").filter(
        status=PaymentStatus.PROCESSING, updated_at__lte=stalled_before
    )
    for payment in payments.exclude(pending_operation="").order_by("updated_at")[:limit]:
        _recover_payment(payment, now, report)
    refunds = Refund.objects.select_related("payment").filter(
        status__in=(RefundStatus.PROCESSING, RefundStatus.PENDING), updated_at__lte=stalled_before
    )
    for refund in refunds.order_by("updated_at")[:limit]:
        _recover_refund(refund, now, report)
    return report


def _due_check(
    *,
    key: str,
    resource_type: str,
    resource_id: str,
    operation: str,
    gateway: str,
    stuck_since: dt.datetime,
    now: dt.datetime,
) -> RecoveryCheck | None:
    check, _ = RecoveryCheck.objects.get_or_create(
        idempotency_key=key,
        defaults={
            "resource_type": resource_type,
            "resource_id": resource_id,
            "operation": operation,
            "gateway": gateway,
            "stuck_since": stuck_since,
            "next_attempt_at": stuck_since + SCHEDULE[0],
        },
    )
    if check.resolved_at or check.flagged_at or check.next_attempt_at > now:
        return None
    return check


def _recover_payment(payment: Payment, now: dt.datetime, report: RecoveryReport) -> None:
    key = gateway_idempotency_key(payment)
    check = _due_check(
        key=key,
        resource_type="payment",
        resource_id=payment.id,
        operation=payment.pending_operation,
        gateway=payment.gateway,
        stuck_since=payment.updated_at,
        now=now,
    )
    if check is None:
        return
    call = gateway_call(
        payment,
        "lookup",
        lambda gateway: gateway.lookup(
            operation=payment.pending_operation,
            idempotency_key=key,
            reference=payment.gateway_reference,
        ),
    )
    if call.error is not None:
        _retry_later(check, now, f"{call.error.code}: the gateway did not answer", report)
        return
    if call.result is None:
        payment_settle(payment, GatewayCall(None, GatewayNoRecordError(), call.latency_ms))
        _resolved(check, now, "never_happened", report.never_happened)
        return
    settled = payment_settle(payment, call)
    _resolved(check, now, f"settled:{settled.status}", report.settled)


def _recover_refund(refund: Refund, now: dt.datetime, report: RecoveryReport) -> None:
    check = _due_check(
        key=refund.gateway_idempotency_key,
        resource_type="refund",
        resource_id=refund.id,
        operation="refund",
        gateway=refund.gateway,
        stuck_since=refund.updated_at,
        now=now,
    )
    if check is None:
        return
    call = gateway_call(
        refund,
        "lookup",
        lambda gateway: gateway.lookup(
            operation="refund",
            idempotency_key=refund.gateway_idempotency_key,
            reference=refund.payment.gateway_reference,
        ),
    )
    if call.error is not None:
        _retry_later(check, now, f"{call.error.code}: the gateway did not answer", report)
        return
    if call.result is None:
        if refund.status == RefundStatus.PENDING:  # the gateway accepted it once: ask a human
            _retry_later(check, now, "the gateway no longer knows this pending refund", report)
            return
        refund_settle(
            refund_id=refund.id,
            call=GatewayCall(None, GatewayNoRecordError(), call.latency_ms),
        )
        _resolved(check, now, "never_happened", report.never_happened)
        return
    if call.result.outcome == Outcome.PENDING:
        _retry_later(check, now, "still pending at the gateway", report)
        return
    settled = refund_settle(refund_id=refund.id, call=call)
    _resolved(check, now, f"settled:{settled.status}", report.settled)


def _resolved(check: RecoveryCheck, now: dt.datetime, resolution: str, bucket: list[str]) -> None:
    check.attempts += 1
    check.resolution = resolution
    check.resolved_at = now
    check.save(update_fields=["attempts", "resolution", "resolved_at", "updated_at"])
    metrics.PAYMENT_RECOVERY.labels(check.gateway, resolution.split(":")[0]).inc()
    logger.info("Recovered %s %s: %s", check.resource_type, check.resource_id, resolution)
    bucket.append(check.resource_id)


def _retry_later(
    check: RecoveryCheck, now: dt.datetime, error: str, report: RecoveryReport
) -> None:
    check.attempts += 1
    check.last_error = error[:500]
    if check.attempts < len(SCHEDULE):
        check.next_attempt_at = check.stuck_since + SCHEDULE[check.attempts]
        check.save(update_fields=["attempts", "last_error", "next_attempt_at", "updated_at"])
        report.retry_later.append(check.resource_id)
        return
    with transaction.atomic():
        check.flagged_at = now
        check.save(update_fields=["attempts", "last_error", "flagged_at", "updated_at"])
        audit_record(
            action=f"{check.resource_type}.recovery_flagged",
            resource_type=check.resource_type,
            resource_id=check.resource_id,
            new={"operation": check.operation, "attempts": check.attempts, "error": error},
            result=AuditResult.FAILURE,
        )
    metrics.PAYMENT_RECOVERY.labels(check.gateway, "flagged").inc()
    logger.error(
        "Recovery gave up on %s %s after %d tries (%s): an operator must settle it",
        check.resource_type,
        check.resource_id,
        check.attempts,
        error,
    )
    report.flagged.append(check.resource_id)
