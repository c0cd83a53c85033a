"""The back office's admin site: django-otp's (the TOTP step before any data), whose home
page is the operations dashboard."""

from typing import Any

from django.http import HttpRequest
from django.template.response import TemplateResponse
from django_otp.admin import OTPAdminSite

from audit.scoping import operator_merchant_ids


class PaydeskAdminSite(OTPAdminSite):
    site_header = "Paydesk back office"
    site_title = "Paydesk"
    index_title = "Operations"
    index_template = "admin/paydesk/index.html"

    def index(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        from payments.dashboard import WINDOWS, dashboard

        context = dict(extra_context or {})
        if request.user.has_perm("payments.view_payment"):
            window = request.GET.get("window", "day")
            context["dashboard"] = dashboard(window, merchants=operator_merchant_ids(request.user))
            context["windows"] = list(WINDOWS)
        return super().index(request, context)
