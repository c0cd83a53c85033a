"""Reads. Merchant-scoped lookups raise ResourceMissing rather than leak other merchants'."""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Model, Q, QuerySet

from payments.errors import ResourceMissing
from payments.models import Customer, Merchant, Payment, PaymentMethod, Refund

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page:
    items: list = field(default_factory=list)
    has_more: bool = False


@dataclass(frozen=True)
class Cursor:
    """Stripe-style cursor pagination, newest first."""

    limit: int = DEFAULT_PAGE_SIZE
    starting_after: str | None = None
    ending_before: str | None = None


@dataclass(frozen=True)
class PaymentFilters:
    """`created_gte`/`created_lte` are whole seconds, as the API shows `created`: `created_lte`
    takes in everything created during that second."""

    status: str | None = None
    customer_id: str | None = None
    created_gte: dt.datetime | None = None
    created_lte: dt.datetime | None = None


def keyset_page(
    queryset: QuerySet, cursor: Cursor, resource: str, *, scope: QuerySet | None = None
) -> Page:
    """Keyset pagination on (created_at, id) descending: no OFFSET, stable under inserts.

    The cursor's object is looked up in `scope` (the caller's objects before any filter,
    default `queryset`): an object that stopped matching the filter since the last page (a
    payment captured while listing AUTHORIZED ones) still marks where the next page starts."""
    if cursor.starting_after or cursor.ending_before:
        anchor_id = cursor.starting_after or cursor.ending_before
        anchor = (
            (queryset if scope is None else scope)
            .filter(pk=anchor_id)
            .values("created_at", "id")
            .first()
        )
        if anchor is None:
            param = "starting_after" if cursor.starting_after else "ending_before"
            raise ResourceMissing(resource, anchor_id, param=param)
    if cursor.starting_after:
        queryset = queryset.filter(
            Q(created_at__lt=anchor["created_at"])
            | Q(created_at=anchor["created_at"], id__lt=anchor["id"])
        ).order_by("-created_at", "-id")
    elif cursor.ending_before:
        queryset = queryset.filter(
            Q(created_at__gt=anchor["created_at"])
            | Q(created_at=anchor["created_at"], id__gt=anchor["id"])
        ).order_by("created_at", "id")
    else:
        queryset = queryset.order_by("-created_at", "-id")
    rows: list[Model] = list(queryset[: cursor.limit + 1])
    has_more = len(rows) > cursor.limit
    rows = rows[: cursor.limit]
    if cursor.ending_before:
        rows.reverse()
    return Page(items=rows, has_more=has_more)


def payment_get(*, merchant: Merchant, payment_id: str, livemode: bool = False) -> Payment:
    payment = (
        Payment.objects.select_related("payment_method")
        .filter(merchant=merchant, livemode=livemode, pk=payment_id)
        .first()
    )
    if payment is None:
        raise ResourceMissing("payment", payment_id)
    return payment


def payment_by_idempotency_key(*, merchant: Merchant, key: str, livemode: bool) -> Payment | None:
    return (
        Payment.objects.select_related("payment_method")
        .filter(merchant=merchant, livemode=livemode, idempotency_key=key)
        .first()
    )


def payment_list(
    *, merchant: Merchant, filters: PaymentFilters, cursor: Cursor, livemode: bool = False
) -> Page:
    scope = Payment.objects.select_related("payment_method").filter(
        merchant=merchant, livemode=livemode
    )
    queryset = scope
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.customer_id:
        queryset = queryset.filter(customer_id=filters.customer_id)
    if filters.created_gte:
        queryset = queryset.filter(created_at__gte=filters.created_gte)
    if filters.created_lte:
        queryset = queryset.filter(created_at__lt=filters.created_lte + dt.timedelta(seconds=1))
    return keyset_page(queryset, cursor, "payment", scope=scope)


def customer_get(*, merchant: Merchant, customer_id: str, livemode: bool = False) -> Customer:
    customer = Customer.objects.filter(merchant=merchant, livemode=livemode, pk=customer_id).first()
    if customer is None:
        raise ResourceMissing("customer", customer_id)
    return customer


def customer_list(
    *, merchant: Merchant, cursor: Cursor, email: str | None = None, livemode: bool = False
) -> Page:
    scope = Customer.objects.filter(merchant=merchant, livemode=livemode)
    queryset = scope.filter(email__iexact=email) if email else scope
    return keyset_page(queryset, cursor, "customer", scope=scope)


def customer_payment_method_list(*, customer: Customer, cursor: Cursor) -> Page:
    return keyset_page(PaymentMethod.objects.filter(customer=customer), cursor, "payment_method")


def refund_get(*, merchant: Merchant, refund_id: str, livemode: bool = False) -> Refund:
    refund = Refund.objects.filter(merchant=merchant, livemode=livemode, pk=refund_id).first()
    if refund is None:
        raise ResourceMissing("refund", refund_id)
    return refund


def refund_by_idempotency_key(*, merchant: Merchant, key: str, livemode: bool) -> Refund | None:
    return Refund.objects.filter(merchant=merchant, livemode=livemode, idempotency_key=key).first()


def payment_refund_list(*, payment: Payment, cursor: Cursor) -> Page:
    return keyset_page(Refund.objects.filter(payment=payment), cursor, "refund")
