"""Everything that happened to one payment, in time order, for the operator's payment page:
the fraud check, each gateway operation, refunds, disputes, the webhooks sent to the merchant
about it, and every audit entry about the payment or its refunds. Each source is read by an
indexed column; card data appears only as stored (masked)."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q

from audit.models import AuditLog
from fraud.models import FraudCheck
from payments.models import Dispute, Payment, Refund, Transaction
from payments.money import format_amount
from webhooks.models import OutboxEvent, WebhookDelivery, WebhookLog


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str
    summary: str
    actor: str = ""


def payment_timeline(payment: Payment, *, limit: int = 200) -> list[TimelineEntry]:
    def money(amount: int, currency: str) -> str:
        return f"{format_amount(amount, currency)} {currency}"

    entries = [
        TimelineEntry(
            check.created_at,
            "fraud check",
            f"{check.decision} (score {check.score})"
            + "".join(f"; {hit['rule']} → {hit['action']}" for hit in check.fired),
        )
        for check in FraudCheck.objects.filter(payment_id=payment.id)
    ]
    entries += [
        TimelineEntry(
            txn.created_at,
            "gateway",
            f"{txn.kind} {txn.status} {money(txn.amount, txn.currency)} at {txn.gateway}"
            + (f" ({txn.error_code})" if txn.error_code else "")
            + (f", {txn.latency_ms} ms" if txn.latency_ms else ""),
        )
        for txn in Transaction.objects.filter(payment=payment)
    ]
    refunds = list(Refund.objects.filter(payment=payment))
    entries += [
        TimelineEntry(
            refund.created_at,
            "refund",
            f"{refund.id} {money(refund.amount, refund.currency)} {refund.reason}: "
            f"{refund.status}" + (f" ({refund.error_code})" if refund.error_code else ""),
            refund.created_by,
        )
        for refund in refunds
    ]
    entries += [
        TimelineEntry(
            dispute.created_at,
            "dispute",
            f"{dispute.id} {money(dispute.amount, dispute.currency)} {dispute.reason}: "
            f"{dispute.status}",
        )
        for dispute in Dispute.objects.filter(payment=payment)
    ]
    # Webhooks out: the events told to the merchant about this payment, and how each delivery
    # went. (By merchant and time first, both indexed, then the payment's id in the event.)
    events = OutboxEvent.objects.filter(
        merchant_id=payment.merchant_id, created_at__gte=payment.created_at, data__id=payment.id
    ).order_by("created_at")[:limit]
    deliveries: dict[str, list[str]] = {}
    for delivery in WebhookDelivery.objects.filter(event__in=[event.id for event in events]):
        deliveries.setdefault(delivery.event_id, []).append(
            f"{delivery.status} after {delivery.attempt_count} attempt(s)"
        )
    entries += [
        TimelineEntry(
            event.created_at,
            "webhook out",
            f"{event.type}: " + ("; ".join(deliveries.get(event.id, [])) or "no endpoint"),
        )
        for event in events
    ]
    # Webhooks in: what the gateway told us about the payment's charge or its refunds.
    if payment.gateway_reference:
        references = [
            payment.gateway_reference,
            *(r.gateway_reference for r in refunds if r.gateway_reference),
        ]
        entries += [
            TimelineEntry(
                log.received_at,
                "webhook in",
                f"{log.provider} {log.event_type}: {log.status}",
            )
            for log in WebhookLog.objects.filter(
                Q(charge_reference=payment.gateway_reference) | Q(object_reference__in=references)
            ).order_by("received_at")[:limit]
        ]
    audit = AuditLog.objects.filter(resource_type="payment", resource_id=payment.id)
    refund_audit = AuditLog.objects.filter(
        resource_type="refund", resource_id__in=[refund.id for refund in refunds]
    )
    entries += [
        TimelineEntry(row.timestamp, "audit", f"{row.action} ({row.result})", row.user_id)
        for row in [*audit[:limit], *refund_audit[:limit]]
    ]
    return sorted(entries, key=lambda entry: entry.at)[:limit]
