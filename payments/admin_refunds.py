"""Refunding from the back office: the same service as the API, with the operator's name,
a reason, and (for one payment) an amount in major units."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.admin import ReadOnlyAdmin
from audit.scoping import MerchantScopedAdmin
from payments.admin_actions import approval_actions, confirm_then_apply
from payments.errors import ErrorCode, InvalidRequest
from payments.models import Payment, Refund, RefundApproval, RefundReason
from payments.money import format_amount, parse_amount
from payments.services.approvals import refund_approval_decide, refund_by_operator


class RefundForm(forms.Form):
    amount = forms.CharField(
        required=False,
        max_length=20,
        help_text="In major units (25.50). Empty: everything not refunded yet.",
    )
    reason = forms.ChoiceField(choices=RefundReason.choices)
    note = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Required when the reason is 'other'; recorded in the audit trail.",
    )


def _refund(request: HttpRequest, payment: Payment, data: dict[str, Any], many: bool) -> None:
    amount = None
    if data["amount"]:
        if many:
            raise InvalidRequest(
                "Give an amount only when refunding one payment.",
                code=ErrorCode.PARAMETER_INVALID,
                param="amount",
            )
        try:
            amount = parse_amount(data["amount"], payment.currency)
        except ValueError as exc:
            raise InvalidRequest(
                f"Amount: {exc}.", code=ErrorCode.PARAMETER_INVALID, param="amount"
            ) from exc
    outcome = refund_by_operator(
        payment=payment,
        amount=amount,
        reason=data["reason"],
        note=data["note"],
        operator=request.user.get_username(),
    )
    if isinstance(outcome, RefundApproval):
        messages.info(
            request,
            f"{payment.id}: above the four-eyes threshold, so it waits for another operator's "
            "approval (Refund approvals).",
        )


@admin.action(description="Refund payments (full, or part of one)", permissions=["refund"])
def refund_payments(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Payment]) -> Any:
    many = queryset.count() > 1
    return confirm_then_apply(
        request,
        queryset,
        form_class=RefundForm,
        action="refund_payments",
        verb="refunded",
        apply=lambda payment, data: _refund(request, payment, data, many),
        label=lambda payment: (
            f"{payment.id} — captured {format_amount(payment.amount_captured, payment.currency)}"
            f", refunded {format_amount(payment.amount_refunded, payment.currency)} "
            f"{payment.currency} ({payment.status})"
        ),
    )


class RefundInline(admin.TabularInline):
    model = Refund
    fields = ["id", "created_at", "amount", "status", "reason", "created_by", "error_code"]
    readonly_fields = fields
    can_delete = False
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("payments.view_payment")  # part of the payment's page


@admin.register(Refund)
class RefundAdmin(MerchantScopedAdmin, ReadOnlyAdmin):
    list_display = [
        "id",
        "payment",
        "amount_display",
        "status",
        "reason",
        "created_by",
        "gateway",
        "created_at",
    ]
    list_filter = ["status", "reason", "gateway"]
    search_fields = ["=id", "=payment__id", "=gateway_reference"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, refund: Refund) -> str:
        return f"{format_amount(refund.amount, refund.currency)} {refund.currency}"


@admin.register(RefundApproval)
class RefundApprovalAdmin(MerchantScopedAdmin, ReadOnlyAdmin):
    """The queue of large refunds waiting for a second operator, oldest first."""

    merchant_field = "payment__merchant_id"

    list_display = [
        "requested_at",
        "payment",
        "amount",
        "reason",
        "note",
        "requested_by",
        "status",
        "decided_by",
        "refund",
        "error",
    ]
    list_filter = ["status"]
    search_fields = ["=payment__id", "requested_by"]
    actions = approval_actions(refund_approval_decide, permission="approve")

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.approve_refund")
