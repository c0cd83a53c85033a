from django.contrib import admin

from audit.admin import ReadOnlyAdmin
from compliance.models import ComplianceExport


@admin.register(ComplianceExport)
class ComplianceExportAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "requested_by"]
    list_filter = ["kind"]
