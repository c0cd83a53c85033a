"""Payments: create (authorize, or authorize and capture), capture, cancel.

Every gateway operation runs in three steps, and no DB transaction or lock is held across
the network call:
  1. a transaction marks the payment PROCESSING with the pending operation (committed);
  2. the gateway is called with an idempotency key derived from the payment and attempt;
  3. a transaction records the ledger row, the new status, the outbox event and the audit row.
A crash between 1 and 3 leaves PROCESSING + pending_operation, which recovery resolves by
asking the gateway; nothing is guessed.
"""

import logging
import time
from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import AuditResult
from audit.services import audit_entry, audit_record
from config.db.build import build
from config.db.constraints import violated_constraint
from config.db.statements import insert_rows, update_where_then_insert
from fraud.engine import FraudContext
from fraud.models import RuleAction
from fraud.services import fraud_decline_observation, fraud_screen
from payments import metrics
from payments.audit_actions import AuditAction
from payments.cards import CardInput, card_brand
from payments.errors import ErrorCode, InvalidRequest, ResourceMissing, StateConflict
from payments.gateways.interface import (
    AuthorizeRequest,
    GatewayCard,
    GatewayError,
    GatewayResult,
    GatewayTimeoutError,
    GatewayUnavailableError,
    Outcome,
)
from payments.locks import payment_lock
from payments.models import (
    CANCELLABLE_WITHOUT_GATEWAY,
    CaptureMethod,
    Customer,
    Merchant,
    Payment,
    PaymentMethod,
    PaymentStatus,
    PendingOperation,
    RecoveryCheck,
    Transaction,
    TransactionKind,
    TransactionStatus,
)
from payments.money import MAX_AMOUNT, format_amount, is_known_currency
from payments.representations import payment_dict
from payments.services.gateway_calls import GatewayCall, gateway_call
from payments.services.idempotency import (
    DeferredClaim,
    IdempotencyKeyTaken,
    deferred_claim_statement,
    deferred_completion_statement,
    idempotency_key_expired_in_use,
)
from payments.services.routing import route
from payments.vault import vault_card_reveal, vault_card_seal
from webhooks.services import event_build

logger = logging.getLogger("payments.PaymentService")

CANCELLATION_REASONS = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")
# `CaptureMethod.values` builds its list again on every read.
_CAPTURE_METHODS = frozenset(CaptureMethod.values)


def currency_normalize(currency: object) -> str:
    if not isinstance(currency, str) or not is_known_currency(currency):
        raise InvalidRequest(
            "Invalid currency: use a three-letter ISO-4217 code such as 'usd'.",
            code=ErrorCode.CURRENCY_INVALID,
            param="currency",
        )
    return currency.upper()


def amount_validate(amount: object, *, param: str = "amount") -> int:
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise InvalidRequest(
            "Amount must be an integer number of minor units (e.g. 1050 for 10.50 USD).",
            code=ErrorCode.PARAMETER_INVALID,
            param=param,
        )
    if amount < 1:
        raise InvalidRequest(
            "Amount must be at least 1 minor unit.", code=ErrorCode.AMOUNT_TOO_SMALL, param=param
        )
    if amount > MAX_AMOUNT:
        raise InvalidRequest(
            f"Amount must be at most {MAX_AMOUNT} minor units.",
            code=ErrorCode.AMOUNT_TOO_LARGE,
            param=param,
        )
    return amount


def _log_outcome(payment: Payment, action: str) -> None:
    level = logging.ERROR if payment.status == PaymentStatus.FAILED else logging.INFO
    logger.log(
        level,
        "Payment %s for amount %s %s with gateway %s",
        action,
        format_amount(payment.amount, payment.currency),
        payment.currency,
        payment.gateway,
    )


def payment_snapshot(payment: Payment) -> dict[str, Any]:
    return {
        "status": payment.status,
        "amount": payment.amount,
        "currency": payment.currency,
        "amount_captured": payment.amount_captured,
        "gateway": payment.gateway,
        "error_code": payment.error_code or None,
    }


def _customer_for(merchant: Merchant, customer_id: str | None, livemode: bool) -> Customer | None:
    if not customer_id:
        return None
    customer = Customer.objects.filter(merchant=merchant, livemode=livemode, pk=customer_id).first()
    if customer is None:
        raise ResourceMissing("customer", customer_id, param="customer")
    return customer


def _saved_method_for(
    merchant: Merchant, payment_method_id: str, customer: Customer | None, livemode: bool
) -> PaymentMethod:
    method = PaymentMethod.objects.filter(
        merchant=merchant, livemode=livemode, pk=payment_method_id
    ).first()
    if method is None or method.vault_ciphertext is None:
        raise ResourceMissing("payment_method", payment_method_id, param="payment_method")
    if method.customer_id and customer is not None and method.customer_id != customer.id:
        raise InvalidRequest(
            "This payment method belongs to another customer.",
            code=ErrorCode.PARAMETER_INVALID,
            param="payment_method",
        )
    return method


def payment_method_build(
    *, merchant: Merchant, card: CardInput, customer: Customer | None = None, livemode: bool = False
) -> PaymentMethod:
    """An unsaved PaymentMethod with `card` sealed into the vault columns."""
    method = build(
        PaymentMethod,
        created_at=timezone.now(),
        merchant=merchant,
        customer=customer,
        livemode=livemode,
        card_brand=card_brand(card.number),
        card_bin=card.bin,
        card_last4=card.last4,
        card_exp_month=card.exp_month,
        card_exp_year=card.exp_year,
    )
    vault_card_seal(method, number=card.number)
    return method


def payment_create(
    *,
    merchant: Merchant,
    amount: object,
    currency: object,
    card: CardInput | None = None,
    payment_method_id: str | None = None,
    customer_id: str | None = None,
    capture_method: str = CaptureMethod.AUTOMATIC,
    description: str = "",
    receipt_email: str = "",
    metadata: dict[str, Any] | None = None,
    livemode: bool = False,
    client_ip: str | None = None,
    client_location: tuple[float, float] | None = None,
    billing_country: str = "",
    idempotency_key: str = "",
    idempotency: DeferredClaim | None = None,
) -> Payment:
    """Screen a payment for fraud, then authorize it (and capture it, unless `capture_method`
    is manual). `client_ip` and `client_location` describe the paying customer (as the
    merchant saw them), for the fraud rules.

    With `idempotency`, its key is claimed by transaction 1 and the response stored by the
    statement that settles the payment; IdempotencyKeyTaken (nothing written) if it is held.

    Declines are not exceptions: the payment comes back FAILED with its `error_code`; a fraud
    block is FAILED with `fraud_blocked` and a hold for review is UNDER_REVIEW, both without a
    gateway call.
    """
    started = time.monotonic()
    amount = amount_validate(amount)
    currency = currency_normalize(currency)
    if capture_method not in _CAPTURE_METHODS:
        raise InvalidRequest(
            "capture_method must be 'automatic' or 'manual'.",
            code=ErrorCode.PARAMETER_INVALID,
            param="capture_method",
        )
    if (card is None) == (payment_method_id is None):
        raise InvalidRequest(
            "Provide exactly one of payment_method or payment_method_data.",
            code=ErrorCode.PARAMETER_MISSING,
            param="payment_method",
        )
    customer = _customer_for(merchant, customer_id, livemode)
    saved_method = (
        _saved_method_for(merchant, payment_method_id, customer, livemode)
        if payment_method_id
        else None
    )

    method = saved_method or payment_method_build(merchant=merchant, card=card, livemode=livemode)  # type: ignore[arg-type]
    gateways = route(
        merchant=merchant,
        livemode=livemode,
        amount=amount,
        currency=currency,
        card_brand=method.card_brand,
        card_bin=method.card_bin,
    )
    payment = build(
        Payment,
        merchant=merchant,
        customer=customer or method.customer,
        payment_method=method,
        amount=amount,
        currency=currency,
        capture_method=capture_method,
        gateway=gateways[0],
        description=description,
        receipt_email=receipt_email,
        metadata=metadata or {},
        livemode=livemode,
        client_ip=client_ip,
        idempotency_key=idempotency_key,
    )
    payment.created_at = payment.updated_at = timezone.now()
    screening = fraud_screen(
        _fraud_context(
            payment,
            email=receipt_email or (payment.customer.email if payment.customer else ""),
            location=client_location,
            billing_country=billing_country,
        )
    )
    event_type = _apply_screening(payment, screening.action)
    created = audit_entry(
        action=AuditAction.PAYMENT_CREATED,
        resource_type="payment",
        resource_id=payment.id,
        new={**payment_snapshot(payment), "fraud_decision": screening.action},
    )
    event = (
        [
            event_build(
                merchant_id=merchant.id,
                event_type=event_type,
                data=payment_dict(payment),
                livemode=livemode,
            )
        ]
        if event_type
        else []
    )
    # Transaction 1, as one statement: the Idempotency-Key's claim (answered at once when
    # screening settled the payment), the card (when new), the payment, its audit row, the
    # fraud check and observation (and the event when screening already settled it).
    settled = payment.status != PaymentStatus.PROCESSING
    response = idempotency.render(payment) if idempotency is not None and settled else None
    claim = (
        deferred_claim_statement(idempotency, response=response)
        if idempotency is not None
        else None
    )
    rows = [*([] if saved_method else [method]), payment, created, *screening.rows, *event]
    try:
        claim_id = insert_rows(*rows, guard=claim)
    except IntegrityError as exc:
        if violated_constraint(exc) != "payments_one_per_idempotency_key":
            raise
        raise idempotency_key_expired_in_use() from exc  # nothing was written
    if idempotency is not None:
        if claim_id is None:
            raise IdempotencyKeyTaken(idempotency.key)
        idempotency.claim_id, idempotency.response = claim_id, response
    if settled:
        _log_outcome(payment, "failed" if payment.status == PaymentStatus.FAILED else "held")
    else:
        payment = payment_authorize(
            payment,
            card=card,
            three_d_secure=screening.action == RuleAction.REQUIRE_VERIFICATION,
            fallbacks=gateways[1:],
            idempotency=idempotency,
        )
    _count_processed(payment, time.monotonic() - started)
    return payment


def _count_processed(payment: Payment, seconds: float) -> None:
    metrics.PAYMENT_ATTEMPTS.labels(payment.gateway).inc()
    if payment.status in (PaymentStatus.COMPLETED, PaymentStatus.AUTHORIZED):
        metrics.PAYMENT_SUCCESS.labels(payment.gateway).inc()
    metrics.PAYMENT_PROCESSING.labels(payment.gateway, payment.status).inc()
    metrics.PAYMENT_PROCESSING_DURATION.labels(payment.gateway).observe(seconds)


def _fraud_context(
    payment: Payment,
    *,
    email: str = "",
    location: tuple[float, float] | None = None,
    billing_country: str = "",
) -> FraudContext:
    return FraudContext(
        merchant_id=payment.merchant_id,
        payment_id=payment.id,
        amount=payment.amount,
        currency=payment.currency,
        card_fingerprint=payment.payment_method.card_fingerprint if payment.payment_method else "",
        card_bin=payment.payment_method.card_bin if payment.payment_method else "",
        customer_id=payment.customer_id or "",
        email=email or payment.receipt_email,
        ip_address=payment.client_ip,
        billing_country=billing_country,
        latitude=location[0] if location else None,
        longitude=location[1] if location else None,
    )


def _apply_screening(payment: Payment, action: str) -> str | None:
    """Set the new payment's first status from the fraud decision; return the event to
    publish when that already settles it (no gateway call follows)."""
    if action == RuleAction.BLOCK:
        payment.transition_to(PaymentStatus.FAILED)
        payment.error_code = ErrorCode.FRAUD_BLOCKED
        payment.error_message = "The payment was blocked by fraud screening."
        return "payment.failed"
    if action == RuleAction.FLAG_FOR_REVIEW:
        payment.transition_to(PaymentStatus.UNDER_REVIEW)
        return "payment.under_review"
    payment.transition_to(PaymentStatus.PROCESSING)
    payment.pending_operation = PendingOperation.AUTHORIZE
    payment.attempt_count = 1
    return None


def gateway_idempotency_key(payment: Payment) -> str:
    """The key of the pending gateway operation: one per payment, operation and attempt, so a
    retry of the same attempt can never charge twice and recovery can ask about it later."""
    return f"{payment.id}:{payment.pending_operation}:{payment.attempt_count}"


def payment_authorize(
    payment: Payment,
    *,
    card: CardInput | None = None,
    three_d_secure: bool = False,
    fallbacks: Sequence[str] = (),
    idempotency: DeferredClaim | None = None,
) -> Payment:
    """Steps 2 and 3 of an authorization whose step 1 has committed (`payment` is PROCESSING
    with pending_operation=authorize). Without `card` (a saved method, or a payment approved
    after review) the PAN comes from the vault and there is no CVC. A claimed `idempotency`
    key gets its response stored by step 3.

    When the gateway certainly did not charge (unreachable, refused, breaker open) the
    payment fails over to the next of `fallbacks`; a timeout or a decline never does."""
    method = payment.payment_method
    if card is not None:
        gateway_card = GatewayCard(card.number, card.exp_month, card.exp_year, card.cvc)
    else:
        gateway_card = GatewayCard(
            vault_card_reveal(method), method.card_exp_month, method.card_exp_year
        )
    fallbacks = list(fallbacks)
    while True:
        request = AuthorizeRequest(
            payment_id=payment.id,
            amount=payment.amount,
            currency=payment.currency,
            card=gateway_card,
            capture=payment.capture_method == CaptureMethod.AUTOMATIC,
            idempotency_key=gateway_idempotency_key(payment),
            description=payment.description,
            three_d_secure=three_d_secure,
        )
        call = gateway_call(
            payment, "authorize", lambda gateway, request=request: gateway.authorize(request)
        )
        if not (isinstance(call.error, GatewayUnavailableError) and fallbacks):
            break
        if not _fail_over(payment, call, fallbacks.pop(0), request.idempotency_key):
            return Payment.objects.select_related("payment_method").get(pk=payment.pk)
    return _finish(
        payment=payment,
        operation=PendingOperation.AUTHORIZE,
        kind=TransactionKind.SALE if request.capture else TransactionKind.AUTHORIZE,
        amount=payment.amount,
        idempotency_key=request.idempotency_key,
        call=call,
        idempotency=idempotency,
    )


def _fail_over(payment: Payment, call: GatewayCall, next_gateway: str, failed_key: str) -> bool:
    """Record the failed attempt and move the PROCESSING payment to `next_gateway` with a
    new attempt number, in one compare-and-set statement, before calling it: if we die
    during the next call, recovery asks the right gateway under the right key."""
    error = call.error
    assert error is not None
    metrics.PAYMENT_GATEWAY_ERRORS.labels(payment.gateway, error.code).inc()
    expected = {
        "status": PaymentStatus.PROCESSING,
        "pending_operation": PendingOperation.AUTHORIZE,
        "attempt_count": payment.attempt_count,
    }
    failed = build(
        Transaction,
        payment=payment,
        kind=TransactionKind.SALE
        if payment.capture_method == CaptureMethod.AUTOMATIC
        else TransactionKind.AUTHORIZE,
        status=TransactionStatus.FAILED,
        amount=payment.amount,
        currency=payment.currency,
        gateway=payment.gateway,
        idempotency_key=failed_key,
        error_code=error.code,
        error_message=error.public_message,
        latency_ms=call.latency_ms,
    )
    audit = audit_entry(
        action=AuditAction.PAYMENT_FAILOVER,
        resource_type="payment",
        resource_id=payment.id,
        old={"gateway": payment.gateway, "attempt": payment.attempt_count},
        new={"gateway": next_gateway, "attempt": payment.attempt_count + 1, "reason": error.code},
    )
    logger.warning(
        "Payment %s failed over from %s to %s (%s)",
        payment.id,
        payment.gateway,
        next_gateway,
        error.code,
    )
    payment.gateway = next_gateway
    payment.attempt_count += 1
    return update_where_then_insert(
        payment,
        expected=expected,
        changes=("gateway", "attempt_count", "updated_at"),
        inserts=[failed, audit],
    )


def payment_capture(
    *,
    merchant: Merchant | None,
    payment_id: str,
    amount: object = None,
    livemode: bool | None = False,
) -> Payment:
    """Capture an AUTHORIZED payment, fully or partly (the rest of the hold is released). API
    callers pass their merchant and mode; operators pass neither."""
    with transaction.atomic():
        payment = payment_lock(payment_id=payment_id, merchant=merchant, livemode=livemode)
        if not payment.can_capture():
            raise StateConflict(
                f"Only AUTHORIZED payments can be captured; this one is {payment.status}.",
                code=ErrorCode.PAYMENT_UNEXPECTED_STATE,
            )
        amount = (
            payment.amount if amount is None else amount_validate(amount, param="amount_to_capture")
        )
        if amount > payment.amount:
            raise InvalidRequest(
                f"amount_to_capture cannot exceed the authorized {payment.amount}.",
                code=ErrorCode.AMOUNT_TOO_LARGE,
                param="amount_to_capture",
            )
        _begin_operation(payment, PendingOperation.CAPTURE)
    key = gateway_idempotency_key(payment)
    call = gateway_call(
        payment,
        "capture",
        lambda gateway: gateway.capture(
            reference=payment.gateway_reference,
            amount=amount,
            currency=payment.currency,
            idempotency_key=key,
        ),
    )
    return _finish(
        payment=payment,
        operation=PendingOperation.CAPTURE,
        kind=TransactionKind.CAPTURE,
        amount=amount,
        idempotency_key=key,
        call=call,
    )


def payment_cancel(
    *,
    merchant: Merchant | None,
    payment_id: str,
    reason: str = "",
    livemode: bool | None = False,
) -> Payment:
    """Cancel a payment that holds no captured money: directly when nothing exists at the
    gateway yet, otherwise by voiding the authorization there first."""
    if reason and reason not in CANCELLATION_REASONS:
        raise InvalidRequest(
            f"cancellation_reason must be one of {', '.join(CANCELLATION_REASONS)}.",
            code=ErrorCode.PARAMETER_INVALID,
            param="cancellation_reason",
        )
    with transaction.atomic():
        payment = payment_lock(payment_id=payment_id, merchant=merchant, livemode=livemode)
        if not payment.can_cancel():
            raise StateConflict(
                f"A {payment.status} payment cannot be cancelled.",
                code=ErrorCode.PAYMENT_UNEXPECTED_STATE,
            )
        payment.cancellation_reason = reason
        if payment.status in CANCELLABLE_WITHOUT_GATEWAY:
            old = payment_snapshot(payment)
            payment.transition_to(PaymentStatus.CANCELLED)
            payment.save(update_fields=["status", "cancellation_reason", "updated_at"])
            insert_rows(
                *payment_change_rows(payment, AuditAction.PAYMENT_CANCEL, old, "payment.cancelled")
            )
            return payment
        _begin_operation(payment, PendingOperation.VOID)
    key = gateway_idempotency_key(payment)
    call = gateway_call(
        payment,
        "void",
        lambda gateway: gateway.void(reference=payment.gateway_reference, idempotency_key=key),
    )
    return _finish(
        payment=payment,
        operation=PendingOperation.VOID,
        kind=TransactionKind.VOID,
        amount=payment.amount,
        idempotency_key=key,
        call=call,
    )


def _begin_operation(payment: Payment, operation: PendingOperation) -> None:
    """Step 1 of a follow-up operation, on a locked payment: commit PROCESSING first."""
    payment.transition_to(PaymentStatus.PROCESSING)
    payment.pending_operation = operation
    payment.attempt_count += 1
    payment.save(
        update_fields=[
            "status",
            "pending_operation",
            "attempt_count",
            "cancellation_reason",
            "updated_at",
        ]
    )


def payment_change_rows(
    payment: Payment,
    action: AuditAction,
    old: dict[str, Any],
    event_type: str | None,
    result: str = AuditResult.SUCCESS,
) -> list[Any]:
    """The audit row and (when merchants are told) the outbox event of a payment change."""
    rows: list[Any] = [
        audit_entry(
            action=action,
            resource_type="payment",
            resource_id=payment.id,
            old=old,
            new=payment_snapshot(payment),
            result=result,
        )
    ]
    if event_type:
        rows.append(
            event_build(
                merchant_id=payment.merchant_id,
                event_type=event_type,
                data=payment_dict(payment),
                livemode=payment.livemode,
            )
        )
    return rows


_AUDIT_ACTION = {
    PendingOperation.AUTHORIZE: AuditAction.PAYMENT_AUTHORIZE,
    PendingOperation.CAPTURE: AuditAction.PAYMENT_CAPTURE,
    PendingOperation.VOID: AuditAction.PAYMENT_CANCEL,
}


def _apply_success(payment: Payment, operation: str, result: GatewayResult, amount: int) -> str:
    """Move the payment to where a successful `operation` leaves it; return the event type."""
    payment.error_code = payment.error_message = ""  # an earlier failed capture is history now
    if operation == PendingOperation.VOID:
        payment.transition_to(PaymentStatus.CANCELLED)
        payment.next_action = None
        return "payment.cancelled"
    if result.outcome == Outcome.REQUIRES_ACTION:
        payment.transition_to(PaymentStatus.REQUIRES_ACTION)
        payment.next_action = result.next_action
        return "payment.requires_action"
    if operation == PendingOperation.AUTHORIZE and payment.capture_method == CaptureMethod.MANUAL:
        payment.transition_to(PaymentStatus.AUTHORIZED)
        return "payment.authorized"
    payment.transition_to(PaymentStatus.COMPLETED)
    payment.amount_captured = amount
    payment.next_action = None
    return "payment.completed"


def _apply_failure(payment: Payment, operation: str, code: str, message: str) -> str | None:
    """A decline or a certain failure: an authorization fails the payment; a failed capture
    or void leaves it where it was, with the error recorded."""
    payment.error_code = code[:50]
    payment.error_message = message[:500]
    if operation == PendingOperation.AUTHORIZE:
        payment.transition_to(PaymentStatus.FAILED)
        return "payment.failed"
    if operation == PendingOperation.VOID:
        payment.cancellation_reason = ""  # not cancelled after all
    payment.transition_to(
        PaymentStatus.REQUIRES_ACTION if payment.next_action else PaymentStatus.AUTHORIZED
    )
    return None


# The columns step 3 may change on a payment.
_SETTLED_FIELDS = (
    "status",
    "amount_captured",
    "error_code",
    "error_message",
    "next_action",
    "gateway_reference",
    "pending_operation",
    "cancellation_reason",
    "updated_at",
)


def payment_status_force(*, payment_id: str, status: str, reason: str) -> Payment:
    """Settle a payment stuck in PROCESSING by hand (after four eyes: services.approvals):
    the operators checked the gateway themselves. No ledger row is written (no gateway call
    was made); the audit row carries who decided and why, and reconciliation will compare."""
    with transaction.atomic():
        payment = payment_lock(payment_id=payment_id)
        if payment.status != PaymentStatus.PROCESSING:
            raise StateConflict(
                f"The payment is {payment.status} now; it settled meanwhile.",
                code=ErrorCode.PAYMENT_UNEXPECTED_STATE,
            )
        old = payment_snapshot(payment)
        payment.transition_to(status)
        payment.pending_operation = ""
        if status == PaymentStatus.COMPLETED:
            payment.amount_captured = payment.amount
        payment.save(update_fields=[*_SETTLED_FIELDS])
        event = f"payment.{status.lower()}"  # completed, failed, authorized, cancelled
        insert_rows(*payment_change_rows(payment, AuditAction.PAYMENT_STATUS_FORCED, old, event))
        RecoveryCheck.objects.filter(
            resource_type="payment", resource_id=payment.id, resolved_at__isnull=True
        ).update(resolution=f"forced:{status}"[:30], resolved_at=timezone.now())
    logger.warning("Payment %s forced to %s by operators: %s", payment.id, status, reason[:200])
    return payment


def payment_settle(payment: Payment, call: GatewayCall) -> Payment:
    """Step 3 for a PROCESSING payment whose step-2 answer was lost (recovery asked the
    gateway again): record `call` exactly as if the original call had returned it."""
    operation = PendingOperation(payment.pending_operation)
    if operation == PendingOperation.AUTHORIZE:
        automatic = payment.capture_method == CaptureMethod.AUTOMATIC
        kind = TransactionKind.SALE if automatic else TransactionKind.AUTHORIZE
        amount = payment.amount
    elif operation == PendingOperation.CAPTURE:
        kind = TransactionKind.CAPTURE
        amount = call.result.amount if call.result else payment.amount
    else:
        kind, amount = TransactionKind.VOID, payment.amount
    return _finish(
        payment=payment,
        operation=operation,
        kind=kind,
        amount=amount,
        idempotency_key=gateway_idempotency_key(payment),
        call=call,
    )


def _finish(
    *,
    payment: Payment,
    operation: PendingOperation,
    kind: TransactionKind,
    amount: int,
    idempotency_key: str,
    call: GatewayCall,
    idempotency: DeferredClaim | None = None,
) -> Payment:
    """Step 3: record what the gateway said. `payment` is our copy from step 1; the write
    applies only if the row is still PROCESSING this operation (compare-and-set), so a
    recovery run or webhook that settled it meanwhile is never overwritten. The response to
    a claimed `idempotency` key is stored by the same statement."""
    expected = {
        "status": PaymentStatus.PROCESSING,
        "pending_operation": operation,
        "attempt_count": payment.attempt_count,  # a later attempt's outcome is not ours
    }
    # Gateway errors, not declines: the gateway failed us (unreachable, timed out, or its own
    # processing error).
    if call.error is not None:
        metrics.PAYMENT_GATEWAY_ERRORS.labels(payment.gateway, call.error.code).inc()
    elif call.result is not None and call.result.error_code == "processing_error":
        metrics.PAYMENT_GATEWAY_ERRORS.labels(payment.gateway, "processing_error").inc()
    if isinstance(call.error, GatewayTimeoutError):
        # Ambiguous: the gateway may have acted. Stay PROCESSING for recovery to resolve.
        audit_record(
            action=_AUDIT_ACTION[operation],
            resource_type="payment",
            resource_id=payment.id,
            new={**payment_snapshot(payment), "error_code": call.error.code},
            result=AuditResult.FAILURE,
        )
        return payment
    old = payment_snapshot(payment)
    result = call.result
    if result is not None and result.outcome != Outcome.DECLINED:
        event_type = _apply_success(payment, operation, result, amount)
        txn_status = (
            TransactionStatus.REQUIRES_ACTION
            if result.outcome == Outcome.REQUIRES_ACTION
            else TransactionStatus.SUCCEEDED
        )
        audit_result = AuditResult.SUCCESS
        error_code, error_message = "", ""
    else:
        if result is not None:
            error_code = result.decline_code or result.error_code
            error_message = result.message
            txn_status = TransactionStatus.DECLINED
        else:
            error_code = call.error.code if call.error else "gateway_error"
            error_message = (call.error or GatewayError()).public_message
            txn_status = TransactionStatus.FAILED
        event_type = _apply_failure(payment, operation, error_code, error_message)
        audit_result = AuditResult.FAILURE
    if result is not None and result.reference:
        payment.gateway_reference = result.reference
    payment.pending_operation = ""
    rows = [
        build(
            Transaction,
            payment=payment,
            kind=kind,
            status=txn_status,
            amount=amount,
            currency=payment.currency,
            gateway=payment.gateway,
            gateway_reference=payment.gateway_reference,
            idempotency_key=idempotency_key,
            error_code=error_code,
            error_message=error_message,
            latency_ms=call.latency_ms,
        ),
        *payment_change_rows(payment, _AUDIT_ACTION[operation], old, event_type, audit_result),
    ]
    if operation == PendingOperation.AUTHORIZE and txn_status == TransactionStatus.DECLINED:
        rows.append(fraud_decline_observation(_fraud_context(payment)))  # for card-testing rules
    response = (
        idempotency.render(payment)
        if idempotency is not None and idempotency.claim_id is not None
        else None
    )
    # Transaction 2, as one statement: status, ledger row, audit row, outbox event (and the
    # response to the Idempotency-Key).
    if not update_where_then_insert(
        payment,
        expected=expected,
        changes=_SETTLED_FIELDS,
        inserts=rows,
        then=[deferred_completion_statement(idempotency, response)] if response else [],
    ):
        logger.warning("Payment %s was settled elsewhere during %s", payment.id, operation)
        return Payment.objects.select_related("payment_method").get(pk=payment.pk)
    if idempotency is not None:
        idempotency.response = response
    _log_outcome(payment, _log_action(payment, operation))
    return payment


def _log_action(payment: Payment, operation: str) -> str:
    if payment.status == PaymentStatus.FAILED:
        return "failed"
    if operation == PendingOperation.CAPTURE:
        return "captured" if payment.status == PaymentStatus.COMPLETED else "capture_failed"
    return payment.status.lower()
