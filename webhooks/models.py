from django.db import models

from config.ids import MAX_LENGTH, public_id_field


class OutboxEvent(models.Model):
    """An outbound merchant event, written in the same transaction as the change it reports
    (the transactional outbox). Delivery to merchant endpoints reads from here."""

    id = public_id_field("evt")
    merchant_id = models.CharField(max_length=MAX_LENGTH, db_index=True)
    type = models.CharField(max_length=100)
    data = models.JSONField()
    livemode = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "outbox_events"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class WebhookLogStatus(models.TextChoices):
    RECEIVED = "received", "Stored, not verified yet"
    REJECTED = "rejected", "Signature missing or invalid: not processed"
    DUPLICATE = "duplicate", "Same provider event seen before: not processed again"
    QUEUED = "queued"
    PROCESSED = "processed"
    IGNORED = "ignored", "Verified, but a type we do not act on"
    RETRYING = "retrying", "Processing failed (unknown object…): will be tried again"
    DEAD = "dead", "Dead-lettered after the last try: an operator replays or resolves it"


class WebhookLog(models.Model):
    """One inbound gateway webhook request, stored raw before anything else happens to it.

    The provider's event id is set once the signature is verified; a unique constraint on it
    is what makes a redelivered event a no-op."""

    id = models.BigAutoField(primary_key=True)
    provider = models.CharField(max_length=20)
    event_id = models.CharField(max_length=255, blank=True, default="")
    event_type = models.CharField(max_length=100, blank=True, default="")
    headers = models.JSONField(default=dict)
    body = models.TextField()
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=WebhookLogStatus.choices, default=WebhookLogStatus.RECEIVED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    processed_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "webhook_logs"
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"],
                condition=~models.Q(event_id=""),
                name="webhook_logs_one_per_provider_event",
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="idx_webhook_logs_due")]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type or '?'} {self.event_id or self.id}"
