"""Applying what a gateway tells us by webhook (a `GatewayEvent`) to our payments, refunds
and disputes.

The rules that make redelivered and out-of-order events harmless: terminal states never
move; a move the transition map does not allow is ignored (a late `requires_action` after
`succeeded`); a PROCESSING operation is settled through the same compare-and-set step 3 as a
live answer. An event about an object we cannot find raises UnknownGatewayObject, and the
caller keeps the event and tries again later (our own record may not be committed yet).
"""

import logging
from typing import Any

from django.db import transaction

from audit.services import audit_record
from payments.gateways.interface import GatewayEvent, GatewayResult, Outcome
from payments.locks import payment_lock
from payments.models import (
    CaptureMethod,
    Dispute,
    Payment,
    PaymentStatus,
    PendingOperation,
    Refund,
    RefundStatus,
    Transaction,
    TransactionKind,
    TransactionStatus,
)
from payments.representations import payment_dict
from payments.services.gateway_calls import GatewayCall
from payments.services.payments import payment_settle, payment_snapshot
from payments.services.refunds import refund_settle
from webhooks.services import event_publish

logger = logging.getLogger("payments.GatewayEventService")

S = PaymentStatus
TERMINAL = frozenset({S.COMPLETED, S.FAILED, S.CANCELLED})
_EVENT_TYPES = {
    S.COMPLETED: "payment.completed",
    S.AUTHORIZED: "payment.authorized",
    S.FAILED: "payment.failed",
    S.CANCELLED: "payment.cancelled",
    S.REQUIRES_ACTION: "payment.requires_action",
}
_DISPUTE_CLOSED = frozenset({"won", "lost", "closed"})


class UnknownGatewayObject(Exception):
    """The event is about something we have no record of (yet)."""


def gateway_event_apply(gateway: str, event: GatewayEvent) -> str:
    """Apply `event` from `gateway`; returns what happened ("applied", "unchanged",
    "ignored"). Call inside a transaction: the caller records the event's own status in it."""
    if event.object_kind == "payment":
        return _payment_event(gateway, event)
    if event.object_kind == "refund":
        return _refund_event(gateway, event)
    if event.object_kind == "dispute":
        return _dispute_event(gateway, event)
    return "ignored"


def _find_payment(
    gateway: str, *, our_id: str, reference: str, related_references: tuple[str, ...] = ()
) -> Payment:
    payments = Payment.objects.select_related("payment_method").filter(gateway=gateway)
    payment = payments.filter(pk=our_id).first() if our_id else None
    # The object's own id first; then the ids it descends from, which our record carries
    # until it learns the new one (a PayPal capture of an authorization we hold).
    for candidate in filter(None, (reference, *related_references)):
        if payment is not None:
            break
        payment = payments.filter(gateway_reference=candidate).first()
    if payment is None:
        raise UnknownGatewayObject(f"no payment for {gateway} {reference or our_id}")
    return payment


def _payment_event(gateway: str, event: GatewayEvent) -> str:
    payment = _find_payment(
        gateway,
        our_id=event.our_id,
        reference=event.reference,
        related_references=event.related_references,
    )
    if payment.status in TERMINAL:
        return "unchanged"
    if payment.status == S.PROCESSING and payment.pending_operation:
        result = _as_result(payment, event)
        if result is None:
            return "unchanged"  # not an answer to the pending operation: recovery asks
        settled = payment_settle(payment, GatewayCall(result, None, 0))
        return "applied" if settled.status != S.PROCESSING else "unchanged"
    return _payment_move(payment.id, event)


def _as_result(payment: Payment, event: GatewayEvent) -> GatewayResult | None:
    """The event as the answer to the payment's pending gateway call, if it is one."""
    operation = payment.pending_operation
    if event.status == S.FAILED:
        return GatewayResult(
            Outcome.DECLINED,
            event.reference,
            payment.amount,
            error_code=event.error_code,
            message=event.error_message,
        )
    if event.status == S.REQUIRES_ACTION and operation == PendingOperation.AUTHORIZE:
        return GatewayResult(
            Outcome.REQUIRES_ACTION, event.reference, payment.amount, next_action=event.next_action
        )
    if event.status == S.CANCELLED:
        if operation != PendingOperation.VOID:
            return None
        return GatewayResult(Outcome.SUCCEEDED, event.reference, payment.amount)
    wanted = S.COMPLETED if operation == PendingOperation.CAPTURE else None
    if operation == PendingOperation.AUTHORIZE:
        automatic = payment.capture_method == CaptureMethod.AUTOMATIC
        wanted = S.COMPLETED if automatic else S.AUTHORIZED
    if event.status != wanted:
        return None
    return GatewayResult(Outcome.SUCCEEDED, event.reference, event.amount or payment.amount)


def _payment_move(payment_id: str, event: GatewayEvent) -> str:
    """A payment not waiting on us (REQUIRES_ACTION after 3-D Secure, AUTHORIZED captured or
    voided elsewhere) moves where the gateway says, if that move is a legal one."""
    with transaction.atomic():
        payment = payment_lock(payment_id=payment_id)
        target = event.status
        if payment.status in TERMINAL or not payment.can_transition_to(target):
            return "unchanged"
        old = payment_snapshot(payment)
        kind, txn_status = _ledger_kind(payment, target)
        payment.transition_to(target)
        if event.reference:
            payment.gateway_reference = event.reference
        if target == S.COMPLETED:
            payment.amount_captured = event.amount or payment.amount
        if target == S.FAILED:
            payment.error_code = event.error_code[:50]
            payment.error_message = event.error_message[:500]
        payment.next_action = event.next_action if target == S.REQUIRES_ACTION else None
        payment.save()
        Transaction.objects.create(
            payment=payment,
            kind=kind,
            status=txn_status,
            amount=payment.amount_captured if target == S.COMPLETED else payment.amount,
            currency=payment.currency,
            gateway=payment.gateway,
            gateway_reference=payment.gateway_reference,
            idempotency_key=f"event:{event.event_id}"[:100],
            error_code=payment.error_code if target == S.FAILED else "",
        )
        audit_record(
            action="payment.gateway_event",
            resource_type="payment",
            resource_id=payment.id,
            old=old,
            new={**payment_snapshot(payment), "event": event.event_type},
        )
        event_publish(
            merchant_id=payment.merchant_id,
            event_type=_EVENT_TYPES[target],
            data=payment_dict(payment),
            livemode=payment.livemode,
        )
    logger.info("Payment %s is %s after gateway event %s", payment.id, target, event.event_type)
    return "applied"


def _ledger_kind(payment: Payment, target: str) -> tuple[str, str]:
    if target == S.CANCELLED:
        return TransactionKind.VOID, TransactionStatus.SUCCEEDED
    if target == S.COMPLETED and payment.status == S.AUTHORIZED:
        return TransactionKind.CAPTURE, TransactionStatus.SUCCEEDED
    automatic = payment.capture_method == CaptureMethod.AUTOMATIC
    kind = TransactionKind.SALE if automatic else TransactionKind.AUTHORIZE
    if target == S.FAILED:
        return kind, TransactionStatus.DECLINED
    if target == S.REQUIRES_ACTION:
        return kind, TransactionStatus.REQUIRES_ACTION
    return kind, TransactionStatus.SUCCEEDED


def _refund_event(gateway: str, event: GatewayEvent) -> str:
    refunds = Refund.objects.filter(gateway=gateway)
    refund = (refunds.filter(pk=event.our_id).first() if event.our_id else None) or (
        refunds.filter(gateway_reference=event.reference).first() if event.reference else None
    )
    if refund is None:
        raise UnknownGatewayObject(f"no refund for {gateway} {event.reference or event.our_id}")
    if refund.status not in (RefundStatus.PROCESSING, RefundStatus.PENDING):
        return "unchanged"
    outcome = {
        RefundStatus.COMPLETED: Outcome.SUCCEEDED,
        RefundStatus.PENDING: Outcome.PENDING,
    }.get(event.status, Outcome.DECLINED)
    result = GatewayResult(
        outcome,
        event.reference,
        event.amount or refund.amount,
        error_code=event.error_code or ("refund_failed" if outcome == Outcome.DECLINED else ""),
    )
    before = refund.status
    settled = refund_settle(refund_id=refund.id, call=GatewayCall(result, None, 0))
    return "applied" if settled.status != before else "unchanged"


def _dispute_event(gateway: str, event: GatewayEvent) -> str:
    payment = _find_payment(gateway, our_id="", reference=event.payment_reference)
    with transaction.atomic():
        dispute = (
            Dispute.objects.select_for_update()
            .filter(gateway=gateway, gateway_reference=event.reference)
            .first()
        )
        if dispute is not None and (
            dispute.status in _DISPUTE_CLOSED or dispute.status == event.status
        ):
            return "unchanged"
        created = dispute is None
        old: dict[str, Any] | None = None if created else _dispute_snapshot(dispute)
        if created:
            dispute = Dispute(
                merchant_id=payment.merchant_id,
                payment=payment,
                gateway=gateway,
                gateway_reference=event.reference,
                livemode=payment.livemode,
            )
        dispute.status = event.status
        dispute.reason = event.dispute_reason[:50] or dispute.reason
        dispute.amount = event.amount or dispute.amount or payment.amount
        dispute.currency = event.currency or dispute.currency or payment.currency
        dispute.evidence_due_by = event.evidence_due_by or dispute.evidence_due_by
        dispute.save()
        audit_record(
            action="dispute.created" if created else "dispute.updated",
            resource_type="dispute",
            resource_id=dispute.id,
            old=old,
            new=_dispute_snapshot(dispute),
        )
        event_publish(
            merchant_id=dispute.merchant_id,
            event_type="dispute.created"
            if created
            else ("dispute.closed" if dispute.status in _DISPUTE_CLOSED else "dispute.updated"),
            data={"id": dispute.id, "object": "dispute", **_dispute_snapshot(dispute)},
            livemode=dispute.livemode,
        )
    return "applied"


def _dispute_snapshot(dispute: Dispute) -> dict[str, Any]:
    return {
        "payment": dispute.payment_id,
        "status": dispute.status,
        "reason": dispute.reason,
        "amount": dispute.amount,
        "currency": dispute.currency,
        "evidence_due_by": dispute.evidence_due_by.isoformat() if dispute.evidence_due_by else None,
    }
