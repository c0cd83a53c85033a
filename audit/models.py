from django.db import models

from config.ids import time_ordered_uuid


class AuditResult(models.TextChoices):
    """Outcome of the audited action."""

    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


class AuditLog(models.Model):
    """One row per state change or sensitive action: who, what, when, from where, result.

    Append-only: a database trigger rejects UPDATE and DELETE (TRUNCATE is a table owner's
    privilege the application role should not have). Written by
    `audit.services.audit_record` in the same transaction as the change it describes.
    """

    id = models.UUIDField(primary_key=True, default=time_ordered_uuid, editable=False)
    timestamp = models.DateTimeField(auto_now_add=True)
    user_id = models.CharField(
        max_length=255, help_text="Actor: user:<id>, api_key:<id>, cli:<os user>, system"
    )
    actor_type = models.CharField(max_length=20)
    action = models.CharField(max_length=100)
    resource_type = models.CharField(max_length=50)
    resource_id = models.CharField(max_length=255)
    old_value = models.JSONField(null=True, blank=True)
    new_value = models.JSONField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True, default="")
    result = models.CharField(
        max_length=20, choices=AuditResult.choices, default=AuditResult.SUCCESS
    )
    request_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        db_table = "audit_log"
        ordering = ["-timestamp"]
        indexes = [
            models.Index(fields=["timestamp"], name="idx_audit_timestamp"),
            models.Index(fields=["user_id"], name="idx_audit_user"),
            models.Index(fields=["resource_type", "resource_id"], name="idx_audit_resource"),
        ]

    def __str__(self) -> str:
        resource = f"{self.resource_type}:{self.resource_id}"
        return f"{self.timestamp:%Y-%m-%d %H:%M:%S} {self.user_id} {self.action} {resource}"


class SecurityEvent(models.Model):
    """Authentication failures, blocks, lockouts and other security-relevant signals (the
    runbook's `payment.security_events`)."""

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    event_type = models.CharField(max_length=100)
    user_id = models.CharField(max_length=255, blank=True, default="")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True, default="")
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "security_events"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["event_type", "created_at"], name="idx_security_event_type"),
            # Brute-force detection counts recent failures per address.
            models.Index(fields=["ip_address", "created_at"], name="idx_security_event_ip"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.event_type} {self.ip_address}"
