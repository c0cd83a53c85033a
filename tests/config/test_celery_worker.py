"""A real Celery worker on the real broker runs our tasks against the test database.

Needs REDIS_URL (CI sets it); without a broker there is no worker to talk to, and the test
says so as a skip rather than passing.
"""

import pytest
from django.conf import settings
from django.utils import timezone

from payments.services.partitions import _existing_partitions, _month_start, _next_month
from payments.tasks import transaction_partitions_ensure_task

pytestmark = [
    pytest.mark.requires_redis,
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL and a Celery worker"),
]


def test_worker_creates_upcoming_transaction_partitions(celery_worker_process):
    months_ahead = 6
    result = transaction_partitions_ensure_task.delay(months_ahead=months_ahead)

    created = result.get(timeout=60)

    month = _month_start(timezone.now().date())
    for _ in range(months_ahead):
        month = _next_month(month)
    assert f"transactions_{month:%Y_%m}" in _existing_partitions()
    assert all(name.startswith("transactions_") for name in created)
