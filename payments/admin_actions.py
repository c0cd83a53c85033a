"""The confirm-with-a-form admin action (audit.admin_actions) for payments' services, whose
refusals are PaydeskErrors."""

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from audit import admin_actions
from audit.admin_actions import ReasonForm
from payments.errors import PaydeskError

__all__ = ["ReasonForm", "confirm_then_apply"]


def confirm_then_apply(
    request: HttpRequest, queryset: QuerySet, **options: Any
) -> TemplateResponse | None:
    return admin_actions.confirm_then_apply(request, queryset, refusals=(PaydeskError,), **options)
