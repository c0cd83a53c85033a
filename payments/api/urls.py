from django.urls import path, register_converter

from payments.api import refund_views, views


class PublicIdConverter:
    """`pay_…`, `cus_…`: letters, digits and underscores. Anything else (a NUL byte, which
    PostgreSQL text cannot hold, or a stray character) is an unknown URL, not a query."""

    regex = "[A-Za-z0-9_]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(PublicIdConverter, "public_id")

PAYMENT = "payments/<public_id:payment_id>"
CUSTOMER = "customers/<public_id:customer_id>"

urlpatterns = [
    path("payments", views.PaymentListCreateView.as_view(), name="payments"),
    path(PAYMENT, views.PaymentDetailView.as_view(), name="payment-detail"),
    path(f"{PAYMENT}/capture", views.PaymentCaptureView.as_view(), name="payment-capture"),
    path(f"{PAYMENT}/cancel", views.PaymentCancelView.as_view(), name="payment-cancel"),
    path(f"{PAYMENT}/refunds", refund_views.PaymentRefundsView.as_view(), name="payment-refunds"),
    path(
        "refunds/<public_id:refund_id>",
        refund_views.RefundDetailView.as_view(),
        name="refund-detail",
    ),
    path("customers", views.CustomerListCreateView.as_view(), name="customers"),
    path(CUSTOMER, views.CustomerDetailView.as_view(), name="customer-detail"),
    path(
        f"{CUSTOMER}/payment-methods",
        views.CustomerPaymentMethodsView.as_view(),
        name="customer-payment-methods",
    ),
]
