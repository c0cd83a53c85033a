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
