from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditLog, SecurityEvent
from audit.scoping import GlobalDataAdmin


class ReadOnlyAdmin(admin.ModelAdmin):
    """A screen that shows and never writes. State changes go through services (and their
    audit rows), never through a generic admin form."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditLog)
class AuditLogAdmin(GlobalDataAdmin, ReadOnlyAdmin):
    list_display = [
        "timestamp",
        "user_id",
        "action",
        "resource_type",
        "resource_id",
        "result",
        "ip_address",
    ]
    list_filter = ["action", "result", "actor_type"]
    search_fields = ["resource_id", "user_id", "request_id"]
    date_hierarchy = "timestamp"
    show_full_result_count = False


@admin.register(SecurityEvent)
class SecurityEventAdmin(GlobalDataAdmin, ReadOnlyAdmin):
    list_display = ["created_at", "event_type", "user_id", "ip_address"]
    list_filter = ["event_type"]
    search_fields = ["ip_address", "user_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False
