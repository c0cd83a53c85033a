"""A real Celery worker on the real broker runs our tasks against the test database.

Needs REDIS_URL (CI sets it); without a broker there is no worker to talk to, and the test
says so as a skip rather than passing.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from config.celery import app
from payments.services.partitions import _existing_partitions, _month_start, _next_month
from payments.tasks import transaction_partitions_ensure_task
from tests.subprocesses import child_env

pytestmark = [
    pytest.mark.requires_redis,
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL and a Celery worker"),
]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def celery_worker_process(transactional_db):
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            "default,webhook_queue",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--hostname",
            f"test-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=child_env(),
    )
    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=1):
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            pytest.fail("the Celery worker did not start")
    yield worker
    worker.terminate()
    worker.wait(timeout=30)


def test_worker_creates_upcoming_transaction_partitions(celery_worker_process):
    months_ahead = 6
    result = transaction_partitions_ensure_task.delay(months_ahead=months_ahead)

    created = result.get(timeout=60)

    month = _month_start(timezone.now().date())
    for _ in range(months_ahead):
        month = _next_month(month)
    assert f"transactions_{month:%Y_%m}" in _existing_partitions()
    assert all(name.startswith("transactions_") for name in created)
