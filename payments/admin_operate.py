"""Capture and cancel from the back office, each with a reason (audited), through the same
services as the API."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.admin import ReadOnlyAdmin
from audit.scoping import MerchantScopedAdmin
from payments.admin_actions import (
    ReasonForm,
    approval_actions,
    confirm_then_apply,
    payment_label,
)
from payments.models import Payment, StatusFixApproval
from payments.services.approvals import status_fix_decide, status_fix_request
from payments.services.operator_actions import (
    payment_cancel_by_operator,
    payment_capture_by_operator,
)


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
        label=payment_label,
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
        label=payment_label,
    )


class StatusFixForm(forms.Form):
    status = forms.ChoiceField(
        choices=[(s, s) for s in ("COMPLETED", "AUTHORIZED", "FAILED", "CANCELLED")],
        help_text="What the gateway's own records say happened.",
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        min_length=10,
        max_length=500,
        help_text="What you checked at the gateway. A second operator must approve.",
    )


@admin.action(description="Request a forced status fix (stuck payments)", permissions=["operate"])
def request_status_fix(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Payment]) -> Any:
    return confirm_then_apply(
        request,
        queryset,
        form_class=StatusFixForm,
        action="request_status_fix",
        verb="sent for approval",
        apply=lambda payment, data: status_fix_request(
            payment=payment,
            target_status=data["status"],
            reason=data["reason"],
            operator=request.user.get_username(),
        ),
        label=payment_label,
    )


@admin.register(StatusFixApproval)
class StatusFixApprovalAdmin(MerchantScopedAdmin, ReadOnlyAdmin):
    """Forced status fixes waiting for a second operator, oldest first."""

    merchant_field = "payment__merchant_id"
    list_display = [
        "requested_at",
        "payment",
        "target_status",
        "reason",
        "requested_by",
        "status",
        "decided_by",
        "error",
    ]
    list_filter = ["status"]
    actions = approval_actions(status_fix_decide, permission="approve")

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.approve_status_fix")
