"""gunicorn listens with SO_REUSEPORT (one socket per worker), so a second server on the same
address would share it silently: it must refuse to start instead."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.subprocesses import child_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_a_second_server_on_a_busy_address_refuses_to_start():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"

        child = subprocess.run(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "-c",
                "config/gunicorn.py",
            ],
            cwd=ROOT,
            env=child_env(PAYDESK_BIND=address),
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert child.returncode != 0
    assert f"{address} is already in use" in child.stderr + child.stdout
