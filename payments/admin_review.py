"""Back-office decisions on payments held for fraud review: approve or reject, each with a
reason, through the same services as everything else (audited there)."""

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from payments.admin_actions import ReasonForm, confirm_then_apply, payment_label
from payments.models import Payment
from payments.services.reviews import payment_review_approve, payment_review_reject

_QUEUE = "../?status__exact=UNDER_REVIEW"


def _review_action(name: str, verb: str, description: str, decide: Callable[..., Any]) -> Any:
    @admin.action(description=description, permissions=["review"])
    def act(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Payment]) -> Any:
        return confirm_then_apply(
            request,
            queryset,
            form_class=ReasonForm,
            action=name,
            verb=verb,
            apply=lambda payment, data: decide(payment_id=payment.id, reason=data["reason"]),
            label=payment_label,
            cancel_url=_QUEUE,
        )

    act.__name__ = name
    return act


approve_review = _review_action(
    "approve_review",
    "approved",
    "Approve held payments (authorize them now)",
    payment_review_approve,
)
reject_review = _review_action(
    "reject_review", "rejected", "Reject held payments (cancel them)", payment_review_reject
)
