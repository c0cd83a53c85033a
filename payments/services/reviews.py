"""Operators decide payments that fraud screening held for review (UNDER_REVIEW)."""

from django.db import transaction

from audit.services import audit_record
from config.db.statements import insert_rows
from payments.audit_actions import AuditAction
from payments.errors import ErrorCode, InvalidRequest, StateConflict
from payments.locks import payment_lock
from payments.models import Payment, PaymentStatus, PendingOperation
from payments.services.payments import payment_authorize, payment_change_rows, payment_snapshot


def _held_payment(payment_id: str, reason: str) -> Payment:
    if not reason.strip():
        raise InvalidRequest(
            "Give a reason for the decision.", code=ErrorCode.PARAMETER_MISSING, param="reason"
        )
    payment = payment_lock(payment_id=payment_id)
    if payment.status != PaymentStatus.UNDER_REVIEW:
        raise StateConflict(
            f"Only UNDER_REVIEW payments can be decided; this one is {payment.status}.",
            code=ErrorCode.PAYMENT_UNEXPECTED_STATE,
        )
    return payment


def payment_review_approve(*, payment_id: str, reason: str) -> Payment:
    """Continue the held payment: it is authorized now (card from the vault, no CVC: the
    CVC was never stored)."""
    with transaction.atomic():
        payment = _held_payment(payment_id, reason)
        old = payment_snapshot(payment)
        payment.transition_to(PaymentStatus.PROCESSING)
        payment.pending_operation = PendingOperation.AUTHORIZE
        payment.attempt_count += 1
        payment.save(update_fields=["status", "pending_operation", "attempt_count", "updated_at"])
        audit_record(
            action=AuditAction.PAYMENT_REVIEW_APPROVED,
            resource_type="payment",
            resource_id=payment.id,
            old=old,
            new={**payment_snapshot(payment), "reason": reason},
        )
    return payment_authorize(payment)


@transaction.atomic
def payment_review_reject(*, payment_id: str, reason: str) -> Payment:
    """Cancel the held payment (nothing exists at the gateway yet)."""
    payment = _held_payment(payment_id, reason)
    old = payment_snapshot(payment)
    payment.transition_to(PaymentStatus.CANCELLED)
    payment.cancellation_reason = "fraudulent"
    payment.save(update_fields=["status", "cancellation_reason", "updated_at"])
    rows = payment_change_rows(
        payment, AuditAction.PAYMENT_REVIEW_REJECTED, old, "payment.cancelled"
    )
    rows[0].new_value = {**rows[0].new_value, "reason": reason}
    insert_rows(*rows)
    return payment
