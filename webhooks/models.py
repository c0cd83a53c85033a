from django.contrib.postgres.fields import ArrayField
from django.db import models

from config.ids import MAX_LENGTH, public_id_field


class OutboxEvent(models.Model):
    """An outbound merchant event, written in the same transaction as the change it reports
    (the transactional outbox). Delivery to merchant endpoints reads from here."""

    id = public_id_field("evt")
    merchant_id = models.CharField(max_length=MAX_LENGTH)
    type = models.CharField(max_length=100)
    data = models.JSONField()
    livemode = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set by the relay (webhooks.outbound.relay) in the transaction that creates the event's
    # deliveries: an event is fanned out to endpoints exactly once.
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "outbox_events"
        ordering = ["-created_at"]
        indexes = [
            # A merchant's events, newest first (/api/v1/events).
            models.Index(fields=["merchant_id", "-created_at"], name="idx_outbox_merchant_created"),
            # The relay's queue: only undispatched events, oldest first; stays small.
            models.Index(
                fields=["created_at"],
                condition=models.Q(dispatched_at__isnull=True),
                name="idx_outbox_undispatched",
            ),
        ]

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
    # The gateway's id of the object the event is about (and of its charge, for refunds and
    # disputes): how a payment's timeline finds the webhooks about it.
    object_reference = models.CharField(max_length=255, blank=True, default="")
    charge_reference = models.CharField(max_length=255, blank=True, default="")
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
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="idx_webhook_logs_due"),
            models.Index(fields=["object_reference"], name="idx_webhook_logs_object"),
            models.Index(fields=["charge_reference"], name="idx_webhook_logs_charge"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type or '?'} {self.event_id or self.id}"


# Outbound merchant webhooks (webhooks.outbound): endpoints, one delivery per endpoint and
# event, and every HTTP attempt of it.


class WebhookEndpointStatus(models.TextChoices):
    ENABLED = "enabled", "Receives the events it subscribes to"
    DISABLED = "disabled", "Receives nothing until enabled again"


class WebhookEndpointDisabledReason(models.TextChoices):
    MERCHANT = "merchant", "Disabled by the merchant through the API"
    OPERATOR = "operator", "Disabled by an operator in the back office"
    GONE = "gone", "The endpoint answered 410 Gone"
    FAILING = "failing", "Every delivery failed for 3 days"


class WebhookEndpoint(models.Model):
    """A merchant's URL that receives signed events (Standard Webhooks).

    The signing secret is shown once; it is stored only sealed under the vault KEK
    (`config.keys.secret_seal`, bound to this id). After a roll the previous secret also
    signs until `previous_secret_expires_at`. Deleting keeps the row (`deleted_at`) so that
    deliveries and their attempts keep pointing at it."""

    id = public_id_field("we")
    merchant_id = models.CharField(max_length=MAX_LENGTH)
    livemode = models.BooleanField(default=False)
    url = models.URLField(max_length=2048)
    description = models.CharField(max_length=500, blank=True, default="")
    enabled_events = ArrayField(
        models.CharField(max_length=100), help_text='Event types, or "*" for all'
    )
    status = models.CharField(
        max_length=20, choices=WebhookEndpointStatus.choices, default=WebhookEndpointStatus.ENABLED
    )
    disabled_reason = models.CharField(
        max_length=20, choices=WebhookEndpointDisabledReason.choices, blank=True, default=""
    )
    disabled_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    secret_sealed = models.BinaryField(editable=False)
    secret_key_version = models.PositiveIntegerField(editable=False)
    previous_secret_sealed = models.BinaryField(null=True, blank=True, editable=False)
    previous_secret_key_version = models.PositiveIntegerField(null=True, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Start of the current run of failed attempts (cleared by any success): three days of
    # it disables the endpoint.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "webhook_endpoints"
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["merchant_id", "livemode", "status"], name="idx_webhook_endpoints_owner"
            )
        ]
        permissions = [("disable_webhookendpoint", "Can disable a merchant's webhook endpoint")]

    def __str__(self) -> str:
        return f"{self.id} {self.url}"


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", "Not tried yet: due at next_attempt_at"
    RETRYING = "retrying", "Failed; tried again at next_attempt_at"
    SUCCEEDED = "succeeded", "The endpoint answered 2xx: never sent again"
    DEAD = (
        "dead",
        (
            "Dead-lettered (last attempt failed, or the endpoint was disabled for failing): "
            "in the webhook_dlq list until replayed or resolved"
        ),
    )
    CANCELLED = "cancelled", "Not sent: the merchant disabled or deleted the endpoint"


class WebhookDelivery(models.Model):
    """One event for one endpoint, tried on the Standard Webhooks retry schedule."""

    id = public_id_field("whd")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries"
    )
    event = models.ForeignKey(OutboxEvent, on_delete=models.PROTECT, related_name="deliveries")
    # Copied from the event, so the console's filters need no join.
    merchant_id = models.CharField(max_length=MAX_LENGTH)
    event_type = models.CharField(max_length=100)
    livemode = models.BooleanField(default=False)
    status = models.CharField(
        max_length=20, choices=WebhookDeliveryStatus.choices, default=WebhookDeliveryStatus.PENDING
    )
    # Attempts in the current round (a replay starts a new round); picks the next delay.
    attempt_count = models.PositiveSmallIntegerField(default=0)
    # Due time while pending or retrying; while an attempt is in flight, the end of its
    # lease (a worker that dies mid-attempt leaves it to be tried again then).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When a task for it was last put on the queue (cleared when a worker takes it): the
    # due-deliveries task does not queue it again while a message is waiting.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    succeeded_at = models.DateTimeField(null=True, blank=True)
    dead_lettered_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    replay_count = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "webhook_deliveries"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event"], name="webhook_deliveries_one_per_endpoint_event"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status__in=["pending", "retrying"]),
                name="idx_webhook_deliveries_due",
            ),
            models.Index(
                fields=["dead_lettered_at"],
                condition=models.Q(status="dead", resolved_at__isnull=True),
                name="idx_webhook_deliveries_dlq",
            ),
            models.Index(fields=["status", "created_at"], name="idx_webhook_deliveries_status"),
            models.Index(fields=["merchant_id", "created_at"], name="idx_webhook_deliveries_owner"),
            models.Index(fields=["event_type", "created_at"], name="idx_webhook_deliveries_type"),
        ]
        permissions = [
            ("replay_webhookdelivery", "Can replay or resolve dead-lettered webhook deliveries")
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} → {self.endpoint_id}"


class WebhookAttemptError(models.TextChoices):
    HTTP_STATUS = "http_status", "Answered, but not 2xx"
    TIMEOUT = "timeout", "No answer within WEBHOOK_TIMEOUT_SECONDS"
    CONNECTION = "connection", "Refused, reset or closed before an answer"
    TLS = "tls", "TLS handshake or certificate check failed"
    DNS = "dns", "The host did not resolve"
    DESTINATION_REFUSED = "ssrf", "Not sent: the host resolves to a forbidden address"


class WebhookAttempt(models.Model):
    """One HTTP attempt of a delivery, as sent and as answered. Append-only."""

    id = models.BigAutoField(primary_key=True)
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.PROTECT, related_name="attempts")
    number = models.PositiveSmallIntegerField(help_text="Attempt number within its round")
    attempted_at = models.DateTimeField()
    url = models.URLField(max_length=2048)
    request_headers = models.JSONField(default=dict)
    request_body = models.TextField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body_excerpt = models.TextField(blank=True, default="", help_text="First 2 KB")
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    succeeded = models.BooleanField(default=False)
    error_kind = models.CharField(
        max_length=20, choices=WebhookAttemptError.choices, blank=True, default=""
    )
    error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        db_table = "webhook_attempts"
        ordering = ["delivery", "id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}"
