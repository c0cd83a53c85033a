from django.contrib import admin

from audit.admin import ReadOnlyAdmin
from audit.scoping import GlobalDataAdmin
from compliance.models import ComplianceExport


@admin.register(ComplianceExport)
class ComplianceExportAdmin(GlobalDataAdmin, ReadOnlyAdmin):
    list_display = ["created_at", "kind", "requested_by"]
    list_filter = ["kind"]
