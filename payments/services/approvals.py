"""Four eyes on large refunds from the back office: above FOUR_EYES_REFUND_THRESHOLD the
operator's refund becomes a request; a different operator approves it (the refund is then
made, recording both names) or rejects it. Every step is audited."""

from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from payments.errors import ErrorCode, InvalidRequest, PaydeskError, StateConflict
from payments.models import (
    ApprovalStatus,
    Payment,
    PaymentStatus,
    Refund,
    RefundApproval,
    StatusFixApproval,
)
from payments.services.payments import payment_status_force
from payments.services.refunds import refund_create, refund_reason_validate


def refund_needs_approval(payment: Payment, amount: int | None) -> bool:
    wanted = payment.amount_captured - payment.amount_refunded if amount is None else amount
    return wanted > settings.FOUR_EYES_REFUND_THRESHOLD


def refund_by_operator(
    *, payment: Payment, amount: int | None, reason: str, note: str, operator: str
) -> Refund | RefundApproval:
    """Refund now, or (above the threshold) ask for a second operator's approval."""
    if not refund_needs_approval(payment, amount):
        return refund_create(
            payment_id=payment.id, amount=amount, reason=reason, note=note, operator=operator
        )
    refund_reason_validate(reason, note)
    with transaction.atomic():
        approval = RefundApproval.objects.create(
            payment=payment,
            amount=amount,
            reason=reason,
            note=note,
            requested_by=operator,
        )
        audit_record(
            action="refund.approval_requested",
            resource_type="payment",
            resource_id=payment.id,
            new={"approval": approval.id, "amount": amount, "reason": reason, "note": note},
        )
    return approval


def refund_approval_decide(
    *, approval_id: int, approver: str, approve: bool, note: str = ""
) -> RefundApproval:
    """A second operator approves (the refund is made) or rejects a pending request. The
    requester can never approve their own."""

    def carry_out(approval: RefundApproval) -> None:
        approval.refund = refund_create(
            payment_id=approval.payment_id,
            amount=approval.amount,
            reason=approval.reason,
            note=approval.note,
            operator=f"{approval.requested_by} (approved by {approver})"[:150],
        )
        approval.save(update_fields=["refund"])

    return _decide(RefundApproval, "refund", approval_id, approver, approve, note, carry_out)


def status_fix_request(
    *, payment: Payment, target_status: str, reason: str, operator: str
) -> StatusFixApproval:
    """Ask for a stuck payment to be forced to `target_status` (a second operator decides)."""
    if payment.status != PaymentStatus.PROCESSING:
        raise StateConflict(
            f"Only a payment stuck in PROCESSING is fixed by hand; this one is {payment.status}.",
            code=ErrorCode.PAYMENT_UNEXPECTED_STATE,
        )
    if not payment.can_transition_to(target_status):
        raise InvalidRequest(
            f"A PROCESSING payment cannot become {target_status}.",
            code=ErrorCode.PARAMETER_INVALID,
            param="status",
        )
    with transaction.atomic():
        approval = StatusFixApproval.objects.create(
            payment=payment, target_status=target_status, reason=reason, requested_by=operator
        )
        audit_record(
            action="payment.status_fix_requested",
            resource_type="payment",
            resource_id=payment.id,
            new={"approval": approval.id, "status": target_status, "reason": reason},
        )
    return approval


def status_fix_decide(
    *, approval_id: int, approver: str, approve: bool, note: str = ""
) -> StatusFixApproval:
    def carry_out(approval: StatusFixApproval) -> None:
        payment_status_force(
            payment_id=approval.payment_id,
            status=approval.target_status,
            reason=f"{approval.reason} (requested by {approval.requested_by}, "
            f"approved by {approver})",
        )

    return _decide(StatusFixApproval, "status_fix", approval_id, approver, approve, note, carry_out)


A = TypeVar("A", RefundApproval, StatusFixApproval)


def _decide(
    model: type[A],
    kind: str,
    approval_id: int,
    approver: str,
    approve: bool,
    note: str,
    carry_out: Callable[[A], None],
) -> A:
    with transaction.atomic():
        approval = model.objects.select_for_update().get(pk=approval_id)
        if approval.status != ApprovalStatus.PENDING:
            raise StateConflict(
                f"This request is already {approval.status}.",
                code=ErrorCode.PARAMETER_INVALID,
            )
        if approval.requested_by == approver:
            raise InvalidRequest(
                "Four eyes: someone other than the requester must decide.",
                code=ErrorCode.PARAMETER_INVALID,
            )
        approval.decided_by, approval.decided_at = approver, timezone.now()
        approval.decision_note = note[:500]
        approval.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
        approval.save()
        audit_record(
            action=f"{kind}.approval_" + ("approved" if approve else "rejected"),
            resource_type="payment",
            resource_id=approval.payment_id,
            new={"approval": approval.id, "requested_by": approval.requested_by, "note": note},
        )
    if approve:
        try:
            carry_out(approval)
        except PaydeskError as exc:
            approval.status, approval.error = ApprovalStatus.FAILED, exc.message[:500]
            approval.save(update_fields=["status", "error"])
    return approval
