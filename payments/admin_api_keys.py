"""API keys in the back office: generate (the secret is shown once), rotate (the old key
keeps working for a grace period), revoke (with a reason). The same services as the runbook's
scripts; permission `payments.manage_api_keys` (payment:configure)."""

import datetime as dt
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from audit.admin import ReadOnlyAdmin
from audit.admin_actions import confirmation_page
from audit.scoping import MerchantScopedAdmin, operator_merchant_ids
from payments.admin_actions import ReasonForm, confirm_then_apply
from payments.errors import PaydeskError
from payments.models import ApiKey, ApiKeyMode, ApiKeyScope, Merchant
from payments.services.api_keys import IssuedApiKey, api_key_issue, api_key_revoke, api_key_rotate

MANAGE = "payments.manage_api_keys"


class GenerateForm(forms.Form):
    merchant = forms.ModelChoiceField(queryset=Merchant.objects.order_by("name"))
    mode = forms.ChoiceField(choices=ApiKeyMode.choices, initial=ApiKeyMode.TEST)
    scopes = forms.MultipleChoiceField(
        choices=ApiKeyScope.choices, widget=forms.CheckboxSelectMultiple
    )
    name = forms.CharField(max_length=100, required=False)


class RotateForm(forms.Form):
    grace_hours = forms.IntegerField(
        min_value=0, max_value=24 * 30, initial=24, help_text="The old key keeps working this long."
    )


def _label(api_key: ApiKey) -> str:
    return f"{api_key.masked} ({api_key.merchant_id}, {api_key.mode})"


def _secrets_page(request: HttpRequest, issued: list[IssuedApiKey]) -> TemplateResponse:
    response = TemplateResponse(
        request,
        "admin/paydesk/secrets_once.html",
        {
            **admin.site.each_context(request),
            "title": "New API keys",
            "issued": issued,
            "back_url": reverse("admin:payments_apikey_changelist"),
        },
    )
    response["Cache-Control"] = "no-store"  # never in a browser or proxy cache
    return response


@admin.action(
    description="Rotate keys (new secret; old one works for a grace period)", permissions=["manage"]
)
def rotate_keys(modeladmin: Any, request: HttpRequest, queryset: QuerySet[ApiKey]) -> Any:
    form = RotateForm(request.POST if "apply" in request.POST else None)
    if not form.is_valid():
        return confirmation_page(
            request, queryset, form=form, action="rotate_keys", verb="rotated", label=_label
        )
    grace = dt.timedelta(hours=form.cleaned_data["grace_hours"])
    issued = []
    for api_key in queryset:
        try:
            issued.append(api_key_rotate(api_key=api_key, grace=grace))
        except PaydeskError as exc:
            messages.error(request, f"{api_key.masked}: {exc.message}")
    return _secrets_page(request, issued) if issued else None


@admin.action(description="Revoke keys now", permissions=["manage"])
def revoke_keys(modeladmin: Any, request: HttpRequest, queryset: QuerySet[ApiKey]) -> Any:
    return confirm_then_apply(
        request,
        queryset,
        form_class=ReasonForm,
        action="revoke_keys",
        verb="revoked",
        apply=lambda api_key, data: api_key_revoke(api_key=api_key, reason=data["reason"]),
        label=_label,
    )


@admin.register(ApiKey)
class ApiKeyAdmin(MerchantScopedAdmin, ReadOnlyAdmin):
    list_display = [
        "masked",
        "merchant",
        "mode",
        "scopes",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    list_filter = ["mode"]
    search_fields = ["id", "merchant__slug"]
    exclude = ["key_hash"]
    actions = [rotate_keys, revoke_keys]
    change_list_template = "admin/paydesk/apikey_change_list.html"

    def has_manage_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(MANAGE)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "generate/",
                self.admin_site.admin_view(self.generate_view),
                name="payments_apikey_generate",
            ),
            *super().get_urls(),
        ]

    def generate_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_manage_permission(request):
            raise PermissionDenied
        form = GenerateForm(request.POST or None)
        merchants = operator_merchant_ids(request.user)
        if merchants is not None:  # only the operator's own merchants
            form.fields["merchant"].queryset = Merchant.objects.filter(pk__in=merchants)
        if request.method == "POST" and form.is_valid():
            try:
                issued = api_key_issue(
                    merchant=form.cleaned_data["merchant"],
                    scopes=form.cleaned_data["scopes"],
                    mode=form.cleaned_data["mode"],
                    name=form.cleaned_data["name"],
                )
            except PaydeskError as exc:
                form.add_error(None, exc.message)
            else:
                return _secrets_page(request, [issued])
        return TemplateResponse(
            request,
            "admin/paydesk/form_page.html",
            {
                **self.admin_site.each_context(request),
                "title": "Generate an API key",
                "form": form,
                "opts": self.opts,
                "submit": "Generate",
            },
        )
