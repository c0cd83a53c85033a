"""The built-in sandbox processor: deterministic, behaves like Stripe's test card numbers.

Its "remote" state is the `sandbox_operations` table, written outside our transactions as a
real processor's would be, keyed by our gateway idempotency key: a retried call returns the
first answer instead of charging twice.
"""

import datetime as dt
import time

from django.conf import settings
from django.db import connection
from django.utils import timezone
from psycopg.types.json import Jsonb

from config.db.statements import json_dumps
from config.ids import new_public_id
from payments.gateways.interface import (
    AuthorizeRequest,
    GatewayResult,
    Outcome,
    SettlementRecord,
)
from payments.models import SandboxOperation

# Stripe's documented test numbers: number → (error code, decline code, message, retryable)
DECLINES: dict[str, tuple[str, str, str, bool]] = {
    "4000000000000002": ("card_declined", "generic_decline", "Your card was declined.", False),
    "4000000000009995": (
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
        False,
    ),
    "4000000000000069": ("expired_card", "expired_card", "Your card has expired.", False),
    "4000000000000127": (
        "incorrect_cvc",
        "incorrect_cvc",
        "Your card's security code is incorrect.",
        False,
    ),
    "4000000000000119": (
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again.",
        True,
    ),
}
REQUIRES_3DS = frozenset({"4000002760003184", "4000002500003155", "4000000000003220"})
# Stripe's "the charge succeeds, its refunds fail". The sandbox keeps no card data, so such a
# charge carries the mark in its reference.
REFUND_FAILS = frozenset({"4000000000005126"})
_REFUND_FAILS_PREFIX = "sbx_rf"
# A raw statement: this runs once per gateway call on the benchmarked hot path.
_RECORD_SQL = f"""
INSERT INTO {SandboxOperation._meta.db_table}
    (idempotency_key, operation, reference, amount, currency, outcome, result, created_at)
VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id
"""  # noqa: S608 (table name from our model, values are parameters)


class SandboxGateway:
    name = "sandbox"

    def _pause(self) -> None:
        if settings.SANDBOX_LATENCY_MS:
            time.sleep(settings.SANDBOX_LATENCY_MS / 1000)

    def _record(
        self,
        *,
        idempotency_key: str,
        operation: str,
        reference: str,
        result: GatewayResult,
        currency: str,
    ) -> GatewayResult:
        """Store the answer under the idempotency key; on a retry return the stored one."""
        with connection.cursor() as cursor:
            cursor.execute(
                _RECORD_SQL,
                [
                    idempotency_key,
                    operation,
                    reference,
                    result.amount,
                    currency,
                    str(result.outcome),  # plain str: psycopg's dumper lookup is slow for StrEnum
                    Jsonb(_result_to_json(result), dumps=json_dumps),
                    timezone.now(),
                ],
            )
            recorded = cursor.fetchone() is not None
        if recorded:
            return result
        stored = SandboxOperation.objects.get(idempotency_key=idempotency_key)
        return _result_from_json(stored.result)

    def authorize(self, request: AuthorizeRequest) -> GatewayResult:
        self._pause()
        number = request.card.number
        # Minted like our ids (time first): the payments index on the gateway's reference
        # takes new entries at its end.
        reference = new_public_id(_REFUND_FAILS_PREFIX if number in REFUND_FAILS else "sbx")
        if number in DECLINES:
            code, decline_code, message, retryable = DECLINES[number]
            result = GatewayResult(
                Outcome.DECLINED, reference, request.amount, code, decline_code, message, retryable
            )
        elif number in REQUIRES_3DS or request.three_d_secure:
            result = GatewayResult(
                Outcome.REQUIRES_ACTION,
                reference,
                request.amount,
                next_action={
                    "type": "redirect_to_url",
                    "redirect_to_url": {"url": f"https://sandbox.paydesk.invalid/3ds/{reference}"},
                },
            )
        else:
            result = GatewayResult(Outcome.SUCCEEDED, reference, request.amount)
        operation = "sale" if request.capture else "authorize"
        return self._record(
            idempotency_key=request.idempotency_key,
            operation=operation,
            reference=reference,
            result=result,
            currency=request.currency,
        )

    def _follow_up(
        self, *, operation: str, reference: str, amount: int, currency: str, idempotency_key: str
    ) -> GatewayResult:
        self._pause()
        if not SandboxOperation.objects.filter(reference=reference).exists():
            result = GatewayResult(
                Outcome.DECLINED, reference, amount, "resource_missing", "", "No such charge."
            )
        else:
            result = GatewayResult(Outcome.SUCCEEDED, reference, amount)
        return self._record(
            idempotency_key=idempotency_key,
            operation=operation,
            reference=reference,
            result=result,
            currency=currency,
        )

    def capture(
        self, *, reference: str, amount: int, currency: str, idempotency_key: str
    ) -> GatewayResult:
        return self._follow_up(
            operation="capture",
            reference=reference,
            amount=amount,
            currency=currency,
            idempotency_key=idempotency_key,
        )

    def void(self, *, reference: str, idempotency_key: str) -> GatewayResult:
        return self._follow_up(
            operation="void",
            reference=reference,
            amount=0,
            currency="",
            idempotency_key=idempotency_key,
        )

    def refund(
        self, *, reference: str, amount: int, currency: str, idempotency_key: str
    ) -> GatewayResult:
        self._pause()
        refund_reference = new_public_id("sbx_re")
        captured = (
            SandboxOperation.objects.filter(
                reference=reference, operation__in=("sale", "capture"), outcome=Outcome.SUCCEEDED
            )
            .order_by("-id")
            .values_list("amount", flat=True)
            .first()
        )
        refunded = sum(
            SandboxOperation.objects.filter(
                reference=reference, operation="refund", outcome=Outcome.SUCCEEDED
            ).values_list("amount", flat=True)
        )
        if captured is None:
            result = _declined(refund_reference, amount, "resource_missing", "No such charge.")
        elif refunded + amount > captured:
            result = _declined(
                refund_reference, amount, "amount_too_large", "Refund exceeds the charge."
            )
        elif reference.startswith(f"{_REFUND_FAILS_PREFIX}_"):
            result = _declined(
                refund_reference, amount, "refund_failed", "The card issuer refused the refund."
            )
        else:
            result = GatewayResult(Outcome.SUCCEEDED, refund_reference, amount)
        return self._record(
            idempotency_key=idempotency_key,
            operation="refund",
            reference=reference,
            result=result,
            currency=currency,
        )

    def retrieve(self, *, reference: str) -> GatewayResult | None:
        latest = SandboxOperation.objects.filter(reference=reference).order_by("-id").first()
        return _result_from_json(latest.result) if latest else None

    def lookup(
        self, *, operation: str, idempotency_key: str, reference: str = ""
    ) -> GatewayResult | None:
        """The sandbox keeps every answer under our idempotency key."""
        stored = SandboxOperation.objects.filter(idempotency_key=idempotency_key).first()
        return _result_from_json(stored.result) if stored else None

    def settlement_records(self, *, start: dt.datetime, end: dt.datetime) -> list[SettlementRecord]:
        operations = SandboxOperation.objects.filter(
            created_at__gte=start,
            created_at__lt=end,
            operation__in=("sale", "capture", "refund"),
            outcome=Outcome.SUCCEEDED,
        ).order_by("id")
        return [
            SettlementRecord(
                # A refund's own id is in its answer; a charge is known by its reference.
                reference=operation.result["reference"],
                kind="refund" if operation.operation == "refund" else "charge",
                amount=operation.amount,
                currency=operation.currency,
                status="succeeded",
                created_at=operation.created_at,
            )
            for operation in operations
        ]

    def verify_credentials(self) -> str:
        return "sandbox (no credentials needed)"


def _declined(reference: str, amount: int, code: str, message: str) -> GatewayResult:
    return GatewayResult(Outcome.DECLINED, reference, amount, code, code, message)


def _result_to_json(result: GatewayResult) -> dict[str, object]:
    return {
        "outcome": str(result.outcome),
        "reference": result.reference,
        "amount": result.amount,
        "error_code": result.error_code,
        "decline_code": result.decline_code,
        "message": result.message,
        "retryable": result.retryable,
        "next_action": result.next_action,
    }


def _result_from_json(data: dict) -> GatewayResult:
    return GatewayResult(**{**data, "outcome": Outcome(data["outcome"])})
