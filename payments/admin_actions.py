"""The confirm-with-a-form admin action (audit.admin_actions) for payments' services, whose
refusals are PaydeskErrors."""

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from audit import admin_actions
from audit.admin_actions import ReasonForm
from payments.errors import PaydeskError

__all__ = ["ReasonForm", "approval_actions", "confirm_then_apply", "payment_label"]


def confirm_then_apply(
    request: HttpRequest, queryset: QuerySet, **options: Any
) -> TemplateResponse | None:
    return admin_actions.confirm_then_apply(request, queryset, refusals=(PaydeskError,), **options)


def approval_actions(decide: Callable[..., Any], *, permission: str) -> list[Any]:
    """The approve and reject actions of a four-eyes queue; `decide(approval_id=, approver=,
    approve=, note=)` is its service."""

    def action(approve: bool) -> Any:
        name = "approve" if approve else "reject"

        @admin.action(
            description="Approve (carry it out)" if approve else "Reject", permissions=[permission]
        )
        def act(modeladmin: Any, request: HttpRequest, queryset: QuerySet) -> Any:
            return confirm_then_apply(
                request,
                queryset,
                form_class=ReasonForm,
                action=name,
                verb="approved" if approve else "rejected",
                apply=lambda approval, data: decide(
                    approval_id=approval.id,
                    approver=request.user.get_username(),
                    approve=approve,
                    note=data["reason"],
                ),
            )

        act.__name__ = name
        return act

    return [action(True), action(False)]


def payment_label(payment: Any) -> str:
    """How a selected payment is listed on a confirmation page."""
    return f"{payment.id} — {payment.amount} {payment.currency} ({payment.status})"
