"""gunicorn listens with SO_REUSEPORT (one socket per worker), so a second server on the same
address would share it silently: it must refuse to start instead."""

import multiprocessing
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gunicorn.glogging import Logger

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


@pytest.mark.django_db
def test_it_serves_on_a_unix_socket_too(tmp_path):
    """SO_REUSEPORT is TCP only: behind a proxy on a Unix socket the workers share one."""
    path = tmp_path / "paydesk.sock"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-c", "config/gunicorn.py"],
        cwd=ROOT,
        env=child_env(PAYDESK_BIND=f"unix:{path}", WEB_CONCURRENCY="2"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        answer = b""
        for _ in range(100):
            try:
                with socket.socket(socket.AF_UNIX) as client:
                    client.connect(str(path))
                    client.sendall(b"GET /actuator/health HTTP/1.0\r\nHost: paydesk\r\n\r\n")
                    answer = client.recv(4096)
                break
            except OSError:
                time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert answer.startswith(b"HTTP/1.0 200") or answer.startswith(b"HTTP/1.1 200"), answer[:200]


def _settings(monkeypatch, **env):
    import runpy

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "config" / "gunicorn.py"))


def test_workers_are_not_recycled_unless_asked(monkeypatch):
    monkeypatch.delenv("GUNICORN_MAX_REQUESTS", raising=False)
    assert _settings(monkeypatch)["max_requests"] == 0

    recycled = _settings(monkeypatch, GUNICORN_MAX_REQUESTS="20000")

    assert (recycled["max_requests"], recycled["max_requests_jitter"]) == (20000, 2000)


@pytest.mark.parametrize(("opt_in", "lines"), [("1", 1), ("0", 0)])
def test_access_lines_are_built_only_when_asked(monkeypatch, opt_in, lines):
    settings = _settings(monkeypatch, GUNICORN_ACCESS_LOG=opt_in)
    logger = settings["logger_class"].__new__(settings["logger_class"])
    built = []
    monkeypatch.setattr(Logger, "access", lambda self, *args: built.append(args), raising=True)

    logger.access("response", "request", {}, 0.01)

    assert len(built) == lines


def test_one_process_more_than_cores_unless_told(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    assert _settings(monkeypatch)["workers"] == multiprocessing.cpu_count() + 1

    assert _settings(monkeypatch, WEB_CONCURRENCY="5")["workers"] == 5


def test_three_threads_per_process_unless_told(monkeypatch):
    monkeypatch.delenv("GUNICORN_THREADS", raising=False)
    assert _settings(monkeypatch)["threads"] == 3

    assert _settings(monkeypatch, GUNICORN_THREADS="8")["threads"] == 8


def test_each_address_has_a_control_socket_of_its_own(monkeypatch):
    monkeypatch.delenv("GUNICORN_CONTROL_SOCKET", raising=False)
    first = _settings(monkeypatch, PAYDESK_BIND="127.0.0.1:8092")["control_socket"]
    second = _settings(monkeypatch, PAYDESK_BIND="127.0.0.1:8094")["control_socket"]

    assert first != second
    assert Path(first).parent == ROOT / ".data" / "gunicorn"
    assert _settings(monkeypatch, GUNICORN_CONTROL_SOCKET="/run/p.ctl")["control_socket"] == (
        "/run/p.ctl"
    )
