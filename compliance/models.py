from django.conf import settings
from django.db import models


class ComplianceExport(models.Model):
    """One compliance export an auditor ran (what, by whom, when). Its permission,
    `export_compliance`, is the runbook's `compliance:export`."""

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=50)
    requested_by = models.CharField(max_length=150)
    parameters = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "compliance_exports"
        ordering = ["-created_at"]
        permissions = [("export_compliance", "Can run compliance exports (compliance:export)")]

    def __str__(self) -> str:
        return f"{self.kind} by {self.requested_by}"


class SavedFilter(models.Model):
    """An operator's named filter of a back-office list (its query string), one click away."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters"
    )
    name = models.CharField(max_length=80)
    path = models.CharField(
        max_length=200, help_text="The list's path, e.g. /admin/payments/payment/"
    )
    query = models.CharField(max_length=2000, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "saved_filters"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "path", "name"], name="saved_filters_unique")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def url(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path
