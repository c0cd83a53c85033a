from django.urls import path, register_converter

from payments.api import refund_views, views, webhook_endpoint_views


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
WEBHOOK_ENDPOINT = "webhook-endpoints/<public_id:endpoint_id>"

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
    path(
        "webhook-endpoints",
        webhook_endpoint_views.WebhookEndpointListCreateView.as_view(),
        name="webhook-endpoints",
    ),
    path(
        WEBHOOK_ENDPOINT,
        webhook_endpoint_views.WebhookEndpointDetailView.as_view(),
        name="webhook-endpoint-detail",
    ),
    path(
        f"{WEBHOOK_ENDPOINT}/roll-secret",
        webhook_endpoint_views.WebhookEndpointRollSecretView.as_view(),
        name="webhook-endpoint-roll-secret",
    ),
    path("events", webhook_endpoint_views.EventListView.as_view(), name="events"),
    path(
        "events/<public_id:event_id>",
        webhook_endpoint_views.EventDetailView.as_view(),
        name="event-detail",
    ),
]
