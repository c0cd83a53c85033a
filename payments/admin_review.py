"""Back-office decisions on payments held for fraud review: approve or reject, each with a
reason, through the same services as everything else (audited there)."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from payments.admin_actions import ReasonForm, confirm_then_apply
from payments.models import Payment
from payments.services.reviews import payment_review_approve, payment_review_reject

_QUEUE = "../?status__exact=UNDER_REVIEW"


def _label(payment: Payment) -> str:
    return f"{payment.id} — {payment.amount} {payment.currency} ({payment.status})"


@admin.action(description="Approve held payments (authorize them now)", permissions=["review"])
def approve_review(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Payment]) -> Any:
    return confirm_then_apply(
        request,
        queryset,
        form_class=ReasonForm,
        action="approve_review",
        verb="approved",
        apply=lambda payment, data: payment_review_approve(
            payment_id=payment.id, reason=data["reason"]
        ),
        label=_label,
        cancel_url=_QUEUE,
    )


@admin.action(description="Reject held payments (cancel them)", permissions=["review"])
def reject_review(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Payment]) -> Any:
    return confirm_then_apply(
        request,
        queryset,
        form_class=ReasonForm,
        action="reject_review",
        verb="rejected",
        apply=lambda payment, data: payment_review_reject(
            payment_id=payment.id, reason=data["reason"]
        ),
        label=_label,
        cancel_url=_QUEUE,
    )
