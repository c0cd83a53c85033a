"""Admin actions that change state: the operator confirms on a page with a form (a reason,
an amount…), then each selected object goes through a service, which authorizes nothing
itself but audits everything. Errors are shown per object; nothing is half-applied to one."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from payments.errors import PaydeskError


def confirm_then_apply(
    request: HttpRequest,
    queryset: QuerySet,
    *,
    form_class: type[forms.Form],
    action: str,
    verb: str,
    apply: Callable[[Model, dict[str, Any]], None],
    label: Callable[[Model], str] = str,
    intro: str = "",
    cancel_url: str = "",
) -> TemplateResponse | None:
    """The admin action body: show the confirmation form, or apply `apply(obj, cleaned)`
    to each selected object once the form is valid."""
    form = form_class(request.POST if "apply" in request.POST else None)
    if form.is_valid():
        done = 0
        for obj in queryset:
            try:
                apply(obj, form.cleaned_data)
                done += 1
            except PaydeskError as exc:
                messages.error(request, f"{label(obj)}: {exc.message}")
        if done:
            messages.success(request, f"{verb.capitalize()}: {done}.")
        return None
    meta = queryset.model._meta
    return TemplateResponse(
        request,
        "admin/paydesk/confirm_action.html",
        {
            **admin.site.each_context(request),
            "title": f"{verb.capitalize()} — {meta.verbose_name_plural}",
            "intro": intro or f"These {meta.verbose_name_plural} will be {verb}:",
            "items": [{"pk": obj.pk, "label": label(obj)} for obj in queryset],
            "form": form,
            "action": action,
            "verb": verb,
            "opts": meta,
            "cancel_url": cancel_url or request.get_full_path(),
        },
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        min_length=5,
        max_length=500,
        help_text="Recorded in the audit trail.",
    )
