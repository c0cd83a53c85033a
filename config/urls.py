from csp.decorators import csp_exempt
from django.contrib import admin
from django.urls import include, path, re_path
from django_prometheus.exports import ExportToDjangoView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from compliance.saved_filters import saved_filter_create
from config import actuator, actuator_breakers
from config.admin_site import PaydeskAdminSite
from config.middleware import is_api_request
from payments import inbound_views
from payments.api.errors import api_not_found, api_server_error

# The back office asks for the TOTP code at sign-in and refuses sessions without it (PCI DSS 8.4);
# its home page is the operations dashboard.
admin.site.__class__ = PaydeskAdminSite

urlpatterns = [
    path("actuator/health", actuator.health, name="actuator-health"),
    path("actuator/circuit-breaker", actuator_breakers.breakers, name="actuator-breakers"),
    re_path(
        r"^actuator/circuit-breaker/(?P<action>enable|disable)$",
        actuator_breakers.switch,
        name="actuator-breakers-switch",
    ),
    re_path(
        r"^actuator/circuit-breaker/(?P<gateway>[a-z0-9_-]{1,30})/(?P<action>enable|disable)$",
        actuator_breakers.switch,
        name="actuator-breaker-switch",
    ),
    # Prometheus scrape endpoint (the runbook's payment_* metrics); keep it off the public
    # network, as the actuator.
    path("metrics", ExportToDjangoView, name="prometheus-metrics"),
    path(
        "api/v1/schema",
        SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]),
        name="api-schema",
    ),
    path(
        "api/v1/docs",
        csp_exempt()(
            SpectacularSwaggerView.as_view(
                url_name="api-schema", authentication_classes=[], permission_classes=[]
            )
        ),
        name="api-docs",
    ),
    path("api/v1/", include("payments.api.urls")),
    path("webhooks/stripe", inbound_views.stripe_webhook, name="webhooks-stripe"),
    path("webhooks/paypal", inbound_views.paypal_webhook, name="webhooks-paypal"),
    path(
        "admin/saved-filters/",
        admin.site.admin_view(saved_filter_create),
        name="saved-filter-create",
    ),
    path("admin/", admin.site.urls),
]


def handler404(request, exception=None):
    if is_api_request(request):
        return api_not_found(request, exception)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    if is_api_request(request):
        return api_server_error(request)
    from django.views.defaults import server_error

    return server_error(request)
