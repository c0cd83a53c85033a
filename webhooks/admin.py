from django.contrib import admin

from audit.admin import ReadOnlyAdmin
from audit.scoping import MerchantScopedAdmin
from webhooks.models import OutboxEvent
from webhooks.outbound import admin as outbound_admin  # noqa: F401 (registers its screens)


@admin.register(OutboxEvent)
class OutboxEventAdmin(MerchantScopedAdmin, ReadOnlyAdmin):
    list_display = ["id", "type", "merchant_id", "created_at", "dispatched_at"]
    list_filter = ["type"]
    search_fields = ["=id", "=merchant_id"]
    show_full_result_count = False
