"""A real gunicorn (config/gunicorn.py) on a free port and raw HTTP/1.1 exchanges with it:
what gunicorn's own parser does can only be seen this way."""

import http.client
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from pathlib import Path
from typing import NamedTuple

from tests.subprocesses import child_env

ROOT = Path(__file__).resolve().parents[2]


class Answer(NamedTuple):
    status: int
    headers: Message
    body: bytes
    raw: bytes  # status line, headers and body


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn_server(control_dir: Path, **env: str) -> Iterator[int]:
    """Serve config.wsgi with config/gunicorn.py (one worker) on this test run's database and
    yield its port."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-c", "config/gunicorn.py"],
        cwd=ROOT,
        env=child_env(
            PAYDESK_BIND=f"127.0.0.1:{port}",
            GUNICORN_CONTROL_SOCKET=str(control_dir / "gunicorn.ctl"),
            WEB_CONCURRENCY="1",
            **env,
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_healthy(port, server)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_until_healthy(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if exchange(port, b"GET /actuator/health HTTP/1.1\r\nHost: t\r\n\r\n").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"gunicorn did not start on port {port}")


def exchange(port: int, request: bytes) -> Answer:
    """Send `request` as it is and read one response (Content-Length or chunked)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        client.sendall(request)
        response = http.client.HTTPResponse(client)
        response.begin()
        body = response.read()
    head = f"HTTP/1.1 {response.status} {response.reason}\r\n{response.headers}".encode()
    return Answer(response.status, response.headers, body, head + body)


def chunked(body: bytes, size: int = 4096) -> bytes:
    """`body` in chunked transfer coding, `size` bytes a chunk."""
    pieces = [body[start : start + size] for start in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"
