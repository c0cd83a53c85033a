"""What an operator does to a payment from the back office goes through the same services as
the API; this adds the operator's reason to the audit trail first (the service's own audit
row then says what happened)."""

from audit.services import audit_record
from payments.models import Payment
from payments.services.payments import payment_cancel, payment_capture


def _requested(action: str, payment_id: str, reason: str, **details: object) -> None:
    audit_record(
        action=f"payment.{action}_requested",
        resource_type="payment",
        resource_id=payment_id,
        new={"reason": reason, **details},
    )


def payment_capture_by_operator(
    *, payment_id: str, reason: str, amount: int | None = None
) -> Payment:
    _requested("capture", payment_id, reason, amount=amount)
    return payment_capture(merchant=None, payment_id=payment_id, amount=amount, livemode=None)


def payment_cancel_by_operator(*, payment_id: str, reason: str) -> Payment:
    _requested("cancel", payment_id, reason)
    return payment_cancel(merchant=None, payment_id=payment_id, livemode=None)
