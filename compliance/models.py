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
