"""Operator screens for outbound webhooks: endpoints (never their secrets) and deliveries with
every attempt as sent and answered. State changes only through actions that confirm with a
reason and call the same services as the API and the runbook (audited there)."""

import json
from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html

from audit.admin import ReadOnlyAdmin
from audit.admin_actions import ReasonForm, confirm_then_apply
from audit.scoping import MerchantScopedAdmin
from webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEndpointDisabledReason,
)
from webhooks.outbound.endpoints import endpoint_disable
from webhooks.outbound.errors import EndpointInvalid, WebhookError
from webhooks.outbound.replay import (
    REPLAY_MAX_PER_ACTION,
    delivery_replay,
    delivery_resolve,
    replay_budget_take,
)


def _confirm_then_apply(
    request: HttpRequest,
    queryset: QuerySet,
    *,
    apply: Callable[[Model, str], Any],
    **options: Any,
) -> TemplateResponse | None:
    """audit.admin_actions.confirm_then_apply with a reason, refusing with WebhookErrors."""
    return confirm_then_apply(
        request,
        queryset,
        form_class=ReasonForm,
        apply=lambda obj, data: apply(obj, data["reason"]),
        refusals=(WebhookError,),
        **options,
    )


def _disable_endpoint(endpoint: WebhookEndpoint, reason: str) -> None:
    disabled = endpoint_disable(
        endpoint_id=endpoint.pk,
        reason=WebhookEndpointDisabledReason.OPERATOR,
        now=timezone.now(),
        note=reason,
    )
    if disabled is None:
        raise EndpointInvalid("already disabled or deleted.")


@admin.action(
    description="Disable endpoints (dead-letters their waiting deliveries)",
    permissions=["disable"],
)
def disable_endpoints(modeladmin: Any, request: HttpRequest, queryset: QuerySet) -> Any:
    return _confirm_then_apply(
        request,
        queryset,
        action="disable_endpoints",
        verb="disabled",
        apply=_disable_endpoint,
        label=lambda endpoint: f"{endpoint.id} {endpoint.url} ({endpoint.status})",
    )


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(MerchantScopedAdmin, ReadOnlyAdmin):
    # Listed explicitly so that no secret column can ever show up here.
    fields = [
        "id",
        "merchant_id",
        "livemode",
        "url",
        "description",
        "enabled_events",
        "status",
        "disabled_reason",
        "disabled_at",
        "failing_since",
        "previous_secret_expires_at",
        "deleted_at",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields
    list_display = [
        "id",
        "merchant_id",
        "livemode",
        "url",
        "status",
        "disabled_reason",
        "failing_since",
        "created_at",
    ]
    list_filter = ["status", "disabled_reason", "livemode"]
    search_fields = ["=id", "=merchant_id", "url"]
    actions = [disable_endpoints]

    def has_disable_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("webhooks.disable_webhookendpoint")


class WebhookAttemptInline(admin.StackedInline):
    model = WebhookAttempt
    fields = [
        "number",
        "attempted_at",
        "url",
        "succeeded",
        "response_status",
        "latency_ms",
        "error_kind",
        "error",
        "headers_sent",
        "request_body",
        "response_body_excerpt",
    ]
    readonly_fields = fields
    can_delete = False
    extra = 0

    @admin.display(description="Request headers")
    def headers_sent(self, attempt: WebhookAttempt) -> str:
        return format_html("<pre>{}</pre>", json.dumps(attempt.request_headers, indent=2))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("webhooks.view_webhookdelivery")  # part of its page


class MerchantFilter(admin.SimpleListFilter):
    title = "merchant"
    parameter_name = "merchant"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        # From the endpoints, which are few, rather than a DISTINCT over every delivery.
        merchants = WebhookEndpoint.objects.order_by("merchant_id").values_list(
            "merchant_id", flat=True
        )
        return [(merchant, merchant) for merchant in merchants.distinct()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(merchant_id=self.value()) if self.value() else queryset


class DeadLetterFilter(admin.SimpleListFilter):
    title = "dead-letter queue"
    parameter_name = "dlq"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "In the queue (dead, unresolved)"), ("resolved", "Resolved")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("open", "resolved"):
            return queryset.filter(
                status=WebhookDeliveryStatus.DEAD, resolved_at__isnull=self.value() == "open"
            )
        return queryset


def _delivery_label(delivery: WebhookDelivery) -> str:
    return f"{delivery.id} {delivery.event_type} → {delivery.endpoint.url} ({delivery.status})"


@admin.action(
    description=f"Replay deliveries (at most {REPLAY_MAX_PER_ACTION} at a time)",
    permissions=["replay"],
)
def replay_deliveries(modeladmin: Any, request: HttpRequest, queryset: QuerySet) -> Any:
    if queryset.count() > REPLAY_MAX_PER_ACTION:
        messages.error(request, f"Select at most {REPLAY_MAX_PER_ACTION} deliveries to replay.")
        return None
    return _confirm_then_apply(
        request,
        queryset.select_related("endpoint"),
        action="replay_deliveries",
        verb="replayed",
        apply=lambda delivery, reason: delivery_replay(delivery_id=delivery.pk, reason=reason),
        label=_delivery_label,
        before_apply=replay_budget_take,
    )


@admin.action(description="Resolve dead letters without sending", permissions=["replay"])
def resolve_deliveries(modeladmin: Any, request: HttpRequest, queryset: QuerySet) -> Any:
    return _confirm_then_apply(
        request,
        queryset.select_related("endpoint"),
        action="resolve_deliveries",
        verb="resolved",
        apply=lambda delivery, reason: delivery_resolve(delivery_id=delivery.pk, note=reason),
        label=_delivery_label,
    )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(MerchantScopedAdmin, ReadOnlyAdmin):
    list_display = [
        "id",
        "event_type",
        "merchant_id",
        "endpoint",
        "status",
        "attempt_count",
        "last_response_status",
        "next_attempt_at",
        "dead_lettered_at",
        "created_at",
    ]
    list_filter = ["status", DeadLetterFilter, "event_type", MerchantFilter, "livemode"]
    search_fields = ["=id", "=event__id", "=endpoint__id"]
    date_hierarchy = "created_at"
    list_select_related = ["endpoint"]
    show_full_result_count = False
    inlines = [WebhookAttemptInline]
    actions = [replay_deliveries, resolve_deliveries]

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("webhooks.replay_webhookdelivery")
