"""Inbound webhooks and disputes in the back office: what each gateway sent us, verbatim,
what became of it, and a replay for dead letters (audited, limited per action)."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.admin import ReadOnlyAdmin
from audit.scoping import GlobalDataAdmin, MerchantScopedAdmin
from payments.admin_actions import ReasonForm, confirm_then_apply
from payments.errors import ErrorCode, InvalidRequest
from payments.models import Dispute
from payments.services.inbound_webhooks import webhook_replay
from webhooks.models import WebhookLog

# Replaying floods the worker queue with whatever was dead: a bounded batch per action.
MAX_REPLAY_PER_ACTION = 100


@admin.action(description="Replay (dead-lettered or retrying)", permissions=["replay"])
def replay_webhooks(modeladmin: Any, request: HttpRequest, queryset: QuerySet[WebhookLog]) -> Any:
    too_many = queryset.count() > MAX_REPLAY_PER_ACTION

    def replay(log: WebhookLog, data: dict[str, Any]) -> None:
        if too_many:
            raise InvalidRequest(
                f"Replay at most {MAX_REPLAY_PER_ACTION} at a time: narrow the filter.",
                code=ErrorCode.PARAMETER_INVALID,
            )
        webhook_replay(log_id=log.id, operator=request.user.get_username())

    return confirm_then_apply(
        request,
        queryset,
        form_class=ReasonForm,
        action="replay_webhooks",
        verb="replayed",
        apply=replay,
        label=lambda log: f"#{log.id} {log.provider} {log.event_type} ({log.status})",
    )


@admin.register(WebhookLog)
class WebhookLogAdmin(GlobalDataAdmin, ReadOnlyAdmin):
    list_display = [
        "received_at",
        "provider",
        "event_type",
        "event_id",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "source_ip",
    ]
    list_filter = ["status", "provider", "event_type"]
    search_fields = ["=event_id", "=id"]
    date_hierarchy = "received_at"
    show_full_result_count = False
    actions = [replay_webhooks]

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("webhooks.change_webhooklog")


@admin.register(Dispute)
class DisputeAdmin(MerchantScopedAdmin, ReadOnlyAdmin):
    list_display = [
        "id",
        "payment",
        "amount",
        "currency",
        "reason",
        "status",
        "evidence_due_by",
        "gateway",
        "created_at",
    ]
    list_filter = ["status", "reason", "gateway"]
    search_fields = ["=id", "=payment__id", "=gateway_reference"]
    ordering = ["evidence_due_by"]
