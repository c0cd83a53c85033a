from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.admin import ReadOnlyAdmin
from audit.scoping import GlobalDataAdmin
from compliance.models import ComplianceExport, SavedFilter


@admin.register(ComplianceExport)
class ComplianceExportAdmin(GlobalDataAdmin, ReadOnlyAdmin):
    list_display = ["created_at", "kind", "requested_by"]
    list_filter = ["kind"]


@admin.register(SavedFilter)
class SavedFilterAdmin(admin.ModelAdmin):
    """Each operator sees and deletes only their own saved filters."""

    list_display = ["name", "path", "query", "created_at"]
    fields = ["name", "path", "query"]
    readonly_fields = ["path", "query"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).filter(user=request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # saved from the list itself

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_staff

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_staff

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_staff

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_staff
