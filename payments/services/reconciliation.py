"""Daily reconciliation: each gateway's books for a day against our ledger, 1:1 by reference.

Our side is the ledger's money rows (SALE and CAPTURE: a charge; REFUND: a refund) that
SUCCEEDED. The gateway's side is `settlement_records` for the day, widened by a margin so a
charge at 23:59:59 that we recorded at 00:00:00 is not reported missing. Every difference
(missing on either side; amount, currency or status differ; one gateway movement booked
twice by us) becomes a ReconciliationException that an operator resolves with a note.
"""

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from payments.errors import ErrorCode, InvalidRequest, StateConflict
from payments.gateways.interface import GatewayError, SettlementRecord
from payments.models import (
    GatewayAccount,
    Merchant,
    ReconciliationException,
    ReconciliationExceptionKind,
    ReconciliationRun,
    Transaction,
    TransactionKind,
    TransactionStatus,
)
from payments.services.routing import gateway_for

logger = logging.getLogger("payments.ReconciliationService")

MARGIN = dt.timedelta(minutes=10)
_RECORD_KIND = {
    TransactionKind.SALE: "charge",
    TransactionKind.CAPTURE: "charge",
    TransactionKind.REFUND: "refund",
}
K = ReconciliationExceptionKind


@dataclass(frozen=True)
class _Scope:
    """What one run covers: a gateway, and for real gateways one merchant's account."""

    gateway: str
    merchant: Merchant | None
    livemode: bool

    @property
    def merchant_id(self) -> str:  # a GatewayOwner, for gateway_for()
        return self.merchant.id if self.merchant else ""


def reconciliation_scopes() -> list[_Scope]:
    accounts = GatewayAccount.objects.select_related("merchant").exclude(gateway="sandbox")
    return [_Scope("sandbox", None, False)] + [
        _Scope(account.gateway, account.merchant, account.livemode) for account in accounts
    ]


def reconcile_day(day: dt.date, *, gateway: str | None = None) -> list[ReconciliationRun]:
    """Reconcile every gateway (or one) for `day` (UTC)."""
    return [
        reconcile(scope, day)
        for scope in reconciliation_scopes()
        if gateway is None or scope.gateway == gateway
    ]


def reconcile(scope: _Scope, day: dt.date) -> ReconciliationRun:
    start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
    end = start + dt.timedelta(days=1)
    run = ReconciliationRun.objects.create(
        day=day, gateway=scope.gateway, merchant=scope.merchant, livemode=scope.livemode
    )
    try:
        records = gateway_for(scope).settlement_records(start=start - MARGIN, end=end + MARGIN)
    except GatewayError as exc:
        run.error = f"{exc.code}: the gateway's records could not be fetched"[:500]
        run.finished_at = timezone.now()
        run.save(update_fields=["error", "finished_at"])
        logger.error("Reconciliation of %s for %s failed: %s", scope.gateway, day, exc)
        return run
    ledger = _ledger_rows(scope, start, end)
    items, matched = _compare(run, records, ledger, start, end)
    with transaction.atomic():
        ReconciliationException.objects.bulk_create(items)
        run.gateway_records = sum(1 for r in records if start <= r.created_at < end)
        run.ledger_records = len(ledger)
        run.exceptions = len(items)
        run.matched = matched
        run.finished_at = timezone.now()
        run.save()
        audit_record(
            action="reconciliation.run",
            resource_type="reconciliation_run",
            resource_id=str(run.id),
            new={
                "gateway": scope.gateway,
                "merchant": scope.merchant_id or None,
                "day": day.isoformat(),
                "matched": run.matched,
                "exceptions": run.exceptions,
            },
        )
    logger.info(
        "Reconciled %s for %s: %d matched, %d exceptions",
        scope.gateway,
        day,
        run.matched,
        run.exceptions,
    )
    return run


def _ledger_rows(scope: _Scope, start: dt.datetime, end: dt.datetime) -> list[Transaction]:
    rows = Transaction.objects.filter(
        gateway=scope.gateway,
        kind__in=_RECORD_KIND,
        status=TransactionStatus.SUCCEEDED,
        created_at__gte=start,
        created_at__lt=end,
        payment__livemode=scope.livemode,
    )
    if scope.merchant is not None:
        rows = rows.filter(payment__merchant=scope.merchant)
    return list(rows.order_by("created_at"))


def _compare(
    run: ReconciliationRun,
    records: list[SettlementRecord],
    ledger: list[Transaction],
    start: dt.datetime,
    end: dt.datetime,
) -> tuple[list[ReconciliationException], int]:
    """The differences, and how many of our movements matched the gateway's exactly."""
    at_gateway = {(r.kind, r.reference): r for r in records}
    ours: dict[tuple[str, str], list[Transaction]] = defaultdict(list)
    for row in ledger:
        ours[(_RECORD_KIND[row.kind], row.gateway_reference)].append(row)
    items = []
    for (kind, reference), rows in ours.items():
        record = at_gateway.get((kind, reference))
        row = rows[0]
        item = ReconciliationException(
            run=run,
            reference=reference,
            record_kind=kind,
            ledger_amount=sum(r.amount for r in rows),
            ledger_currency=row.currency,
            payment_id=row.payment_id,
        )
        if record is not None:
            item.gateway_amount = record.amount
            item.gateway_currency = record.currency
            item.gateway_status = record.status
        if record is None:
            item.kind = K.MISSING_AT_GATEWAY
        elif len(rows) > 1 and kind == "charge" and row.kind == TransactionKind.SALE:
            item.kind = K.DUPLICATE_IN_LEDGER
        elif record.currency != row.currency:
            item.kind = K.CURRENCY_MISMATCH
        elif record.amount != item.ledger_amount:
            item.kind = K.AMOUNT_MISMATCH
        elif record.status == "failed":  # "pending" is still on its way, not a difference
            item.kind = K.STATUS_MISMATCH
        else:
            continue
        items.append(item)
    known = _references_in_ledger(
        [key for key, r in at_gateway.items() if start <= r.created_at < end and key not in ours]
    )
    for key, record in at_gateway.items():
        if start <= record.created_at < end and key not in ours and key not in known:
            items.append(
                ReconciliationException(
                    run=run,
                    kind=K.MISSING_IN_LEDGER,
                    reference=record.reference,
                    record_kind=record.kind,
                    gateway_amount=record.amount,
                    gateway_currency=record.currency,
                    gateway_status=record.status,
                )
            )
    return items, len(ours) - sum(1 for item in items if item.kind != K.MISSING_IN_LEDGER)


def _references_in_ledger(keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Of gateway movements not in today's ledger, those we booked on another day (around
    midnight): not missing."""
    if not keys:
        return set()
    rows = Transaction.objects.filter(
        gateway_reference__in=[reference for _, reference in keys],
        kind__in=_RECORD_KIND,
        status=TransactionStatus.SUCCEEDED,
    ).values_list("kind", "gateway_reference")
    return {(_RECORD_KIND[kind], reference) for kind, reference in rows}


def reconciliation_exception_resolve(
    *, exception_id: int, note: str, operator: str
) -> ReconciliationException:
    """An operator closes an exception, saying what they found or did."""
    if not note.strip():
        raise InvalidRequest(
            "Say what you found or did in the note.", code=ErrorCode.PARAMETER_MISSING, param="note"
        )
    with transaction.atomic():
        item = ReconciliationException.objects.select_for_update().get(pk=exception_id)
        if item.resolved_at is not None:
            raise StateConflict(
                f"Already resolved by {item.resolved_by}.",
                code=ErrorCode.PARAMETER_INVALID,
            )
        item.resolved_at = timezone.now()
        item.resolved_by = operator
        item.resolution_note = note.strip()[:1000]
        item.save(update_fields=["resolved_at", "resolved_by", "resolution_note"])
        audit_record(
            action="reconciliation.exception_resolved",
            resource_type="reconciliation_exception",
            resource_id=str(item.id),
            new={"kind": item.kind, "reference": item.reference, "note": item.resolution_note},
        )
    return item
