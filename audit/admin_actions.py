"""Admin actions that change state: the operator confirms on a page with a form (a reason, an
amount…), then each selected object goes through a service, which audits it. Refusals are
shown per object; nothing is half-applied to one. Every app's state-changing actions use it."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        min_length=5,
        max_length=500,
        help_text="Recorded in the audit trail.",
    )


def confirm_then_apply(
    request: HttpRequest,
    queryset: QuerySet,
    *,
    form_class: type[forms.Form],
    action: str,
    verb: str,
    apply: Callable[[Model, dict[str, Any]], Any],
    refusals: tuple[type[Exception], ...],
    label: Callable[[Model], str] = str,
    before_apply: Callable[[int], None] | None = None,
    intro: str = "",
    cancel_url: str = "",
) -> TemplateResponse | None:
    """The admin action body: show the confirmation form, or, once it is valid, run
    `before_apply(count)` (a budget check, say) and `apply(obj, cleaned_data)` for each
    selected object. `refusals` are the domain errors shown to the operator (their `message`)."""
    form = form_class(request.POST if "apply" in request.POST else None)
    if form.is_valid():
        objects = list(queryset)
        try:
            if before_apply is not None:
                before_apply(len(objects))
        except refusals as exc:
            messages.error(request, getattr(exc, "message", str(exc)))
            return None
        done = 0
        for obj in objects:
            try:
                apply(obj, form.cleaned_data)
                done += 1
            except refusals as exc:
                messages.error(request, f"{label(obj)}: {getattr(exc, 'message', str(exc))}")
        if done:
            messages.success(request, f"{verb.capitalize()}: {done}.")
        return None
    return confirmation_page(
        request,
        queryset,
        form=form,
        action=action,
        verb=verb,
        label=label,
        intro=intro,
        cancel_url=cancel_url,
    )


def confirmation_page(
    request: HttpRequest,
    queryset: QuerySet,
    *,
    form: forms.Form,
    action: str,
    verb: str,
    label: Callable[[Model], str] = str,
    intro: str = "",
    cancel_url: str = "",
) -> TemplateResponse:
    """The page that lists the selected objects and asks for the action's form."""
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
