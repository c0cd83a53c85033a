import datetime as dt

from celery import shared_task
from django.utils import timezone

from payments.services.idempotency import idempotency_keys_purge
from payments.services.inbound_webhooks import webhook_logs_purge, webhook_process, webhooks_due
from payments.services.partitions import transaction_partitions_ensure
from payments.services.reconciliation import reconcile_day
from payments.services.recovery import recovery_run


@shared_task(acks_late=True)
def transaction_partitions_ensure_task(months_ahead: int = 3) -> list[str]:
    return transaction_partitions_ensure(months_ahead=months_ahead)


@shared_task(acks_late=True)
def idempotency_keys_purge_task() -> int:
    return idempotency_keys_purge()


@shared_task(acks_late=True)
def stalled_operations_recover_task() -> dict[str, list[str]]:
    """Every 5 minutes (beat): settle payments and refunds whose gateway answer was lost."""
    return vars(recovery_run())


@shared_task(acks_late=True)
def daily_reconciliation_task(day: str | None = None) -> list[int]:
    """Daily (beat): yesterday's reconciliation, UTC. Returns the run ids."""
    date = dt.date.fromisoformat(day) if day else timezone.now().date() - dt.timedelta(days=1)
    return [run.id for run in reconcile_day(date)]


@shared_task(acks_late=True)
def inbound_webhook_process_task(log_id: int) -> str | None:
    """Apply one stored gateway webhook (queue webhook_queue). Idempotent: a redelivered task
    finds the webhook already processed, or locked by the worker doing it, and does nothing."""
    return webhook_process(log_id)


@shared_task(acks_late=True)
def inbound_webhooks_retry_task() -> int:
    """Every minute (beat): re-enqueue stored webhooks whose retry time has come."""
    due = webhooks_due()
    for log_id in due:
        inbound_webhook_process_task.delay(log_id)
    return len(due)


@shared_task(acks_late=True)
def webhook_logs_purge_task() -> int:
    """Daily (beat): webhook_logs older than 30 days go, unresolved dead letters stay."""
    return webhook_logs_purge()
