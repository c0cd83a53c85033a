"""Back-office decisions on payments held for fraud review: approve or reject, each with a
reason, through the same services as everything else (audited there)."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from payments.errors import PaydeskError
from payments.models import Payment
from payments.services.reviews import payment_review_approve, payment_review_reject


class ReviewDecisionForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        min_length=5,
        max_length=500,
        help_text="Recorded in the audit trail.",
    )


def _decide(
    request: HttpRequest,
    queryset: QuerySet[Payment],
    *,
    action: str,
    verb: str,
    decide: Callable[..., Payment],
) -> TemplateResponse | None:
    form = ReviewDecisionForm(request.POST if "apply" in request.POST else None)
    if form.is_valid():
        done = 0
        for payment in queryset:
            try:
                decide(payment_id=payment.id, reason=form.cleaned_data["reason"])
                done += 1
            except PaydeskError as exc:
                messages.error(request, f"{payment.id}: {exc.message}")
        if done:
            messages.success(request, f"{verb.capitalize()} {done} payment(s).")
        return None
    return TemplateResponse(
        request,
        "admin/payments/review_decision.html",
        {
            **admin.site.each_context(request),
            "title": f"{verb.capitalize()} held payments",
            "payments": queryset,
            "form": form,
            "action": action,
            "verb": verb,
            "opts": Payment._meta,
        },
    )


@admin.action(description="Approve held payments (authorize them now)", permissions=["review"])
def approve_review(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Payment]) -> Any:
    return _decide(
        request, queryset, action="approve_review", verb="approved", decide=payment_review_approve
    )


@admin.action(description="Reject held payments (cancel them)", permissions=["review"])
def reject_review(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Payment]) -> Any:
    return _decide(
        request, queryset, action="reject_review", verb="rejected", decide=payment_review_reject
    )
