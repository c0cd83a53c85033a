"""Back-office screens of fraud and threat detection: read-only lists; the one state change,
lifting an IP block, is an action that calls the service (and so is audited)."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from audit.admin import ReadOnlyAdmin
from fraud.ip_blocks import active_block_q, ip_block_is_active, ip_block_lift
from fraud.models import BlocklistEntry, FraudCheck, FraudRule, IpBlock


class ActiveBlockFilter(admin.SimpleListFilter):
    title = "active"
    parameter_name = "active"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "In force"), ("no", "Expired or lifted")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[IpBlock]) -> QuerySet[IpBlock]:
        if self.value() == "yes":
            return queryset.filter(active_block_q(timezone.now()))
        if self.value() == "no":
            return queryset.exclude(active_block_q(timezone.now()))
        return queryset


@admin.register(IpBlock)
class IpBlockAdmin(ReadOnlyAdmin):
    list_display = [
        "ip_address",
        "active",
        "source",
        "reason",
        "created_by",
        "created_at",
        "blocked_until",
        "lifted_at",
        "lifted_by",
    ]
    list_filter = [ActiveBlockFilter, "source"]
    search_fields = ["ip_address"]
    date_hierarchy = "created_at"
    actions = ["lift_blocks"]

    @admin.display(boolean=True, description="active")
    def active(self, block: IpBlock) -> bool:
        return ip_block_is_active(block)

    @admin.action(description="Lift block (let the IP in again)", permissions=["lift"])
    def lift_blocks(self, request: HttpRequest, queryset: QuerySet[IpBlock]) -> None:
        """Lifting is per address: every active block of a selected IP ends, otherwise the
        address would stay blocked by another row and the action would look broken."""
        addresses = sorted(
            {str(block.ip_address) for block in queryset if ip_block_is_active(block)}
        )
        if not addresses:
            self.message_user(
                request,
                "None of the selected blocks is in force; nothing lifted.",
                messages.WARNING,
            )
            return
        # The operator is the audit actor (audit.middleware.OperatorActorMiddleware).
        lifted = [
            block
            for address in addresses
            for block in ip_block_lift(ip_address=address, reason="lifted in the back office")
        ]
        self.message_user(
            request, f"Lifted {len(lifted)} block(s) of {', '.join(addresses)}.", messages.SUCCESS
        )

    def has_lift_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("fraud.change_ipblock")


@admin.register(FraudRule)
class FraudRuleAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "kind",
        "condition",
        "action",
        "priority",
        "enabled",
        "version",
        "updated_by",
        "updated_at",
    ]
    list_filter = ["kind", "action", "enabled"]
    search_fields = ["name"]


@admin.register(FraudCheck)
class FraudCheckAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "payment_id", "merchant_id", "decision", "score"]
    list_filter = ["decision"]
    search_fields = ["payment_id", "merchant_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(BlocklistEntry)
class BlocklistEntryAdmin(ReadOnlyAdmin):
    list_display = ["kind", "value", "reason", "created_by", "created_at", "expires_at"]
    list_filter = ["kind"]
    search_fields = ["value"]
