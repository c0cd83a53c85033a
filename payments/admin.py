"""Operator screens: read-only lists and details; state changes only through admin actions
that call the same services as the API (admin_review, admin_refunds, admin_operations)."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from audit.admin import ReadOnlyAdmin
from audit.pagination import BoundedCountPaginator
from audit.scoping import MerchantScopedAdmin
from fraud.models import FraudCheck
from payments import (  # noqa: F401 (they register their screens)
    admin_api_keys,
    admin_inbound,
    admin_operations,
)
from payments.admin_operate import cancel_payments, capture_payments, request_status_fix
from payments.admin_refunds import RefundInline, refund_payments
from payments.admin_review import approve_review, reject_review
from payments.admin_search import export_payments_csv, payment_search_q
from payments.models import (
    Customer,
    Merchant,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Transaction,
)
from payments.money import format_amount
from payments.representations import mask_email, mask_phone
from payments.timeline import payment_timeline


@admin.register(Merchant)
class MerchantAdmin(MerchantScopedAdmin, ReadOnlyAdmin):
    merchant_field = "id"
    list_display = ["name", "slug", "id", "default_gateway", "is_active", "created_at"]
    search_fields = ["name", "slug", "id"]


@admin.register(Customer)
class CustomerAdmin(MerchantScopedAdmin, ReadOnlyAdmin):
    """Customers' contact details are masked on screen (least exposure); operators still find
    a customer by id or full email."""

    list_display = ["id", "merchant", "masked_email", "masked_phone", "created_at"]
    fields = ["id", "merchant", "masked_email", "masked_phone", "description", "created_at"]
    readonly_fields = fields
    search_fields = ["=id", "=email"]
    show_full_result_count = False

    @admin.display(description="Email")
    def masked_email(self, customer: Customer) -> str:
        return mask_email(customer.email)

    @admin.display(description="Phone")
    def masked_phone(self, customer: Customer) -> str:
        return mask_phone(customer.phone)


@admin.register(PaymentMethod)
class PaymentMethodAdmin(MerchantScopedAdmin, ReadOnlyAdmin):
    list_display = ["id", "display", "card_exp_month", "card_exp_year", "customer", "created_at"]
    search_fields = ["id", "card_last4", "card_fingerprint"]
    exclude = ["vault_key_version", "vault_wrapped_key", "vault_ciphertext"]
    show_full_result_count = False


class TransactionInline(admin.TabularInline):
    model = Transaction
    fields = [
        "created_at",
        "kind",
        "status",
        "amount",
        "gateway",
        "gateway_reference",
        "error_code",
        "latency_ms",
    ]
    readonly_fields = fields
    can_delete = False
    extra = 0

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("payments.view_payment")  # part of the payment's page


@admin.register(Payment)
class PaymentAdmin(MerchantScopedAdmin, ReadOnlyAdmin):
    actions = [
        refund_payments,
        capture_payments,
        cancel_payments,
        request_status_fix,
        approve_review,
        reject_review,
        export_payments_csv,
    ]
    readonly_fields = ["timeline", "fraud_explanation", "customer_history"]
    list_display = [
        "id",
        "merchant",
        "amount_display",
        "status",
        "gateway",
        "error_code",
        "created_at",
    ]
    list_filter = ["status", "gateway", "currency", "capture_method"]
    # id, customer, gateway reference, email, card last 4, amount: see payment_search_q.
    search_fields = ["=id"]
    search_help_text = (
        "Payment or customer id, gateway reference, email, card last 4, amount (25.00)"
    )
    date_hierarchy = "created_at"
    list_select_related = ["merchant"]
    show_full_result_count = False
    paginator = BoundedCountPaginator  # never COUNT(*) over millions of payments
    inlines = [TransactionInline, RefundInline]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        if not search_term.strip():
            return queryset, False
        return queryset.filter(payment_search_q(search_term)), False

    def get_ordering(self, request: HttpRequest) -> list[str]:
        # The review queue (status UNDER_REVIEW) is worked oldest first.
        if request.GET.get("status__exact") == PaymentStatus.UNDER_REVIEW:
            return ["created_at", "id"]
        return super().get_ordering(request)

    @admin.display(description="Timeline")
    def timeline(self, payment: Payment) -> str:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (f"{entry.at:%Y-%m-%d %H:%M:%S}", entry.kind, entry.summary, entry.actor)
                for entry in payment_timeline(payment)
            ),
        )
        return format_html(
            "<table><thead><tr><th>when (UTC)</th><th>what</th><th>detail</th><th>who</th>"
            "</tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="Customer's recent payments")
    def customer_history(self, payment: Payment) -> str:
        if not payment.customer_id:
            return "-"
        recent = (
            Payment.objects.filter(customer_id=payment.customer_id)
            .exclude(pk=payment.pk)
            .order_by("-created_at")[:10]
        )
        rows = format_html_join(
            "",
            '<li><a href="{}">{}</a> {} {} {} {}</li>',
            (
                (
                    reverse("admin:payments_payment_change", args=[other.pk]),
                    other.id,
                    f"{other.created_at:%Y-%m-%d %H:%M}",
                    format_amount(other.amount, other.currency),
                    other.currency,
                    other.status,
                )
                for other in recent
            ),
        )
        return format_html("<ul>{}</ul>", rows) if rows else "No other payments"

    def has_review_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.review_payment")

    def has_operate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.operate_payment")

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.refund_payment")

    @admin.display(description="Fraud check")
    def fraud_explanation(self, payment: Payment) -> str:
        check = FraudCheck.objects.filter(payment_id=payment.id).order_by("-created_at").first()
        if check is None:
            return "-"
        fired = "; ".join(
            f"{hit['rule']} v{hit['version']} -> {hit['action']} {hit['observed']}"
            for hit in check.fired
        )
        return f"{check.decision} (score {check.score}){': ' + fired if fired else ''}"

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, payment: Payment) -> str:
        return f"{format_amount(payment.amount, payment.currency)} {payment.currency}"
