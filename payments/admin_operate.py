"""Capture and cancel from the back office, each with a reason (audited), through the same
services as the API."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from payments.admin_actions import ReasonForm, confirm_then_apply
from payments.models import Payment
from payments.services.operator_actions import (
    payment_cancel_by_operator,
    payment_capture_by_operator,
)


def _label(payment: Payment) -> str:
    return f"{payment.id} — {payment.amount} {payment.currency} ({payment.status})"


@admin.action(description="Capture authorized payments (in full)", permissions=["operate"])
def capture_payments(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Payment]) -> Any:
    return confirm_then_apply(
        request,
        queryset,
        form_class=ReasonForm,
        action="capture_payments",
        verb="captured",
        apply=lambda payment, data: payment_capture_by_operator(
            payment_id=payment.id, reason=data["reason"]
        ),
        label=_label,
    )


@admin.action(description="Cancel payments (void at the gateway)", permissions=["operate"])
def cancel_payments(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Payment]) -> Any:
    return confirm_then_apply(
        request,
        queryset,
        form_class=ReasonForm,
        action="cancel_payments",
        verb="cancelled",
        apply=lambda payment, data: payment_cancel_by_operator(
            payment_id=payment.id, reason=data["reason"]
        ),
        label=_label,
    )
