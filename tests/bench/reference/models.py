from django.db import models


class Payment(models.Model):
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, default="COMPLETED")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"payment {self.pk}"


class Transaction(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE)
    kind = models.CharField(max_length=20)
    amount = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"transaction {self.pk}"


class AuditRecord(models.Model):
    action = models.CharField(max_length=50)
    resource_id = models.BigIntegerField()
    new_values = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"audit record {self.pk}"
