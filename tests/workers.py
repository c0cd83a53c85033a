"""A real Celery worker subprocess on the real broker (Redis), using this test run's database."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.celery import app
from tests.subprocesses import child_env

ROOT = Path(__file__).resolve().parents[1]


def start_worker() -> subprocess.Popen:
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
            f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
        ],
        cwd=ROOT,
        env=child_env(),
    )
    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=1):
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            pytest.fail("the Celery worker did not start")
    return worker


def stop_worker(worker: subprocess.Popen) -> None:
    worker.terminate()
    worker.wait(timeout=30)


@pytest.fixture
def celery_worker_process(transactional_db) -> Iterator[subprocess.Popen]:
    worker = start_worker()
    yield worker
    stop_worker(worker)
