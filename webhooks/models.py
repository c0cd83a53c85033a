from functools import partial

from django.db import models

from config.ids import MAX_LENGTH, new_public_id


class OutboxEvent(models.Model):
    """An outbound merchant event, written in the same transaction as the change it reports
    (the transactional outbox). Delivery to merchant endpoints reads from here."""

    id = models.CharField(
        primary_key=True,
        max_length=MAX_LENGTH,
        default=partial(new_public_id, "evt"),
        editable=False,
    )
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
