"""Refunds: reserve the amount under the payment's row lock, call the gateway with no
transaction open, then record what it said.

  1. a transaction locks the payment, checks what is left to refund, adds the amount to
     `amount_refunded` and writes the refund as PROCESSING (committed);
  2. the gateway refunds, under an idempotency key derived from the refund;
  3. a transaction settles the refund (COMPLETED, PENDING or FAILED, which gives the amount
     back) with its ledger row, audit row and outbox event.
Concurrent refunds serialize on step 1, so their sum can never exceed the captured amount. A
timeout leaves the refund PROCESSING for recovery, its amount still reserved.
"""

import logging
from typing import Any

from django.db import IntegrityError, transaction

from audit.models import AuditResult
from audit.services import audit_record
from config.db.constraints import violated_constraint
from payments import metrics
from payments.audit_actions import AuditAction
from payments.errors import ErrorCode, InvalidRequest, StateConflict
from payments.gateways.interface import GatewayNoRecordError, GatewayTimeoutError, Outcome
from payments.locks import payment_lock
from payments.models import (
    Merchant,
    PaymentStatus,
    Refund,
    RefundReason,
    RefundStatus,
    Transaction,
    TransactionKind,
    TransactionStatus,
)
from payments.money import format_amount
from payments.representations import refund_dict
from payments.services.gateway_calls import GatewayCall, gateway_call
from payments.services.idempotency import idempotency_key_expired_in_use
from payments.services.payments import amount_validate
from webhooks.services import event_publish

logger = logging.getLogger("payments.RefundService")

_EVENT_TYPES = {
    RefundStatus.COMPLETED: "refund.completed",
    RefundStatus.PENDING: "refund.pending",
    RefundStatus.FAILED: "refund.failed",
}


def refund_snapshot(refund: Refund) -> dict[str, Any]:
    return {
        "status": refund.status,
        "amount": refund.amount,
        "currency": refund.currency,
        "payment": refund.payment_id,
        "reason": refund.reason,
        "error_code": refund.error_code or None,
    }


def refund_reason_validate(reason: object, note: str) -> str:
    if reason not in RefundReason.values:
        raise InvalidRequest(
            f"reason must be one of {', '.join(RefundReason.values)}.",
            code=ErrorCode.PARAMETER_INVALID,
            param="reason",
        )
    if reason == RefundReason.OTHER and not note.strip():
        raise InvalidRequest(
            "Say why in `note` when the reason is 'other'.",
            code=ErrorCode.PARAMETER_MISSING,
            param="note",
        )
    return str(reason)


def refund_create(
    *,
    payment_id: str,
    reason: str,
    amount: object = None,
    note: str = "",
    metadata: dict[str, str] | None = None,
    merchant: Merchant | None = None,
    livemode: bool | None = None,
    idempotency_key: str = "",
    operator: str = "",
) -> Refund:
    """Refund `amount` (default: all that is left) of a COMPLETED payment. API callers pass
    their `merchant` and mode (they see nothing else); operators pass neither, and their
    username as `operator`."""
    reason = refund_reason_validate(reason, note)
    with transaction.atomic():
        payment = payment_lock(payment_id=payment_id, merchant=merchant, livemode=livemode)
        if not payment.can_refund():
            if payment.status != PaymentStatus.COMPLETED:
                raise StateConflict(
                    f"Only COMPLETED payments can be refunded; this one is {payment.status}.",
                    code=ErrorCode.PAYMENT_UNEXPECTED_STATE,
                )
            raise InvalidRequest(
                f"Payment {payment.id} has already been refunded in full.",
                code=ErrorCode.CHARGE_ALREADY_REFUNDED,
                param="amount",
            )
        remaining = payment.amount_captured - payment.amount_refunded
        amount = remaining if amount is None else amount_validate(amount)
        if amount > remaining:
            raise InvalidRequest(
                f"Refund amount {format_amount(amount, payment.currency)} {payment.currency} "
                f"is more than the {format_amount(remaining, payment.currency)} "
                f"{payment.currency} left to refund on this payment.",
                code=ErrorCode.AMOUNT_TOO_LARGE,
                param="amount",
            )
        payment.amount_refunded += amount
        payment.save(update_fields=["amount_refunded", "updated_at"])
        refund = Refund(
            merchant_id=payment.merchant_id,
            payment=payment,
            amount=amount,
            currency=payment.currency,
            reason=reason,
            note=note,
            gateway=payment.gateway,
            metadata=metadata or {},
            livemode=payment.livemode,
            idempotency_key=idempotency_key,
            created_by=operator,
        )
        try:
            with transaction.atomic():
                refund.save(force_insert=True)
        except IntegrityError as exc:
            if violated_constraint(exc) != "refunds_one_per_idempotency_key":
                raise
            raise idempotency_key_expired_in_use() from exc
        audit_record(
            action=AuditAction.REFUND_CREATED,
            resource_type="refund",
            resource_id=refund.id,
            new={**refund_snapshot(refund), "note": note, "operator": operator or None},
        )
    call = gateway_call(
        refund,
        "refund",
        lambda gateway: gateway.refund(
            reference=payment.gateway_reference,
            amount=amount,
            currency=refund.currency,
            idempotency_key=refund.gateway_idempotency_key,
        ),
    )
    return refund_settle(refund_id=refund.id, call=call)


def refund_settle(*, refund_id: str, call: GatewayCall) -> Refund:
    """Step 3 (also how recovery settles a refund it asked the gateway about): record the
    gateway's answer on a PROCESSING or PENDING refund. A refund settled meanwhile by
    someone else is left alone; a timeout changes nothing (recovery asks later)."""
    with transaction.atomic():
        # Lock order as in refund_create: the payment, then the refund.
        payment_id = Refund.objects.values_list("payment_id", flat=True).get(pk=refund_id)
        payment = payment_lock(payment_id=payment_id)
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        refund.payment = payment
        if call.error is not None:
            metrics.PAYMENT_GATEWAY_ERRORS.labels(refund.gateway, call.error.code).inc()
        if refund.status not in (RefundStatus.PROCESSING, RefundStatus.PENDING):
            return refund
        old = refund_snapshot(refund)
        if isinstance(call.error, GatewayTimeoutError):
            audit_record(
                action=AuditAction.REFUND_SETTLED,
                resource_type="refund",
                resource_id=refund.id,
                old=old,
                new={**old, "error_code": call.error.code},
                result=AuditResult.FAILURE,
            )
            return refund
        new_status, txn_status = _outcome(refund, call)
        if new_status == refund.status:  # still pending: nothing new to record
            return refund
        refund.transition_to(new_status)
        if new_status == RefundStatus.FAILED:
            payment.amount_refunded -= refund.amount  # give the reserved amount back
            payment.save(update_fields=["amount_refunded", "updated_at"])
        refund.save(
            update_fields=[
                "status",
                "gateway_reference",
                "error_code",
                "error_message",
                "updated_at",
            ]
        )
        Transaction.objects.create(
            payment=payment,
            kind=TransactionKind.REFUND,
            status=txn_status,
            amount=refund.amount,
            currency=refund.currency,
            gateway=refund.gateway,
            gateway_reference=refund.gateway_reference,
            idempotency_key=refund.gateway_idempotency_key,
            error_code=refund.error_code,
            error_message=refund.error_message,
            latency_ms=call.latency_ms,
        )
        audit_record(
            action=AuditAction.REFUND_SETTLED,
            resource_type="refund",
            resource_id=refund.id,
            old=old,
            new=refund_snapshot(refund),
            result=AuditResult.FAILURE
            if new_status == RefundStatus.FAILED
            else AuditResult.SUCCESS,
        )
        event_publish(
            merchant_id=refund.merchant_id,
            event_type=_EVENT_TYPES[new_status],
            data=refund_dict(refund),
            livemode=refund.livemode,
        )
    metrics.PAYMENT_REFUNDS.labels(refund.gateway, refund.status).inc()
    logger.log(
        logging.ERROR if refund.status == RefundStatus.FAILED else logging.INFO,
        "Payment %s for amount %s %s with gateway %s",
        "refund_failed" if refund.status == RefundStatus.FAILED else "refunded",
        format_amount(refund.amount, refund.currency),
        refund.currency,
        refund.gateway,
    )
    return refund


def _outcome(refund: Refund, call: GatewayCall) -> tuple[str, str]:
    """The refund's new status and its ledger row's status, from the gateway's answer (the
    answer's fields are copied onto `refund`)."""
    result = call.result
    if result is None:  # certainly not processed (unreachable, refused)
        refund.error_code = call.error.code if call.error else "gateway_error"
        refund.error_message = (
            "The gateway has no record of this refund; nothing was refunded."
            if isinstance(call.error, GatewayNoRecordError)
            else "The gateway could not be reached; nothing was refunded."
        )
        return RefundStatus.FAILED, TransactionStatus.FAILED
    if result.reference:
        refund.gateway_reference = result.reference
    if result.outcome == Outcome.SUCCEEDED:
        return RefundStatus.COMPLETED, TransactionStatus.SUCCEEDED
    if result.outcome in (Outcome.PENDING, Outcome.REQUIRES_ACTION):
        return RefundStatus.PENDING, TransactionStatus.SUCCEEDED
    refund.error_code = (result.decline_code or result.error_code or "refund_failed")[:50]
    refund.error_message = (result.message or "The gateway refused the refund.")[:500]
    return RefundStatus.FAILED, TransactionStatus.DECLINED
