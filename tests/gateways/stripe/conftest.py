"""A localstripe server for the session, and small stand-ins for a Stripe that misbehaves."""

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from payments.gateways.stripe_gateway import StripeGateway

LOCALSTRIPE = Path(sys.executable).with_name("localstripe")
API_KEY = "sk_test_paydesk"
STARTUP_SECONDS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        connection.request("GET", "/v1/balance", headers={"Authorization": f"Bearer {API_KEY}"})
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


@pytest.fixture(scope="session")
def localstripe_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One localstripe for the session. --from-scratch: it would otherwise load whatever
    state another run left in /tmp/localstripe.pickle."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("localstripe") / "localstripe.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [LOCALSTRIPE, "--port", str(port), "--from-scratch"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"localstripe did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def gateway(localstripe_url: str) -> StripeGateway:
    return StripeGateway(API_KEY, api_base=localstripe_url)


@pytest.fixture
def closed_port_url() -> str:
    """Nothing listens there: the connection is refused."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def silent_server_url() -> Iterator[str]:
    """Accepts connections (the kernel does, from the listen backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]  # the query string's and the body's parameters


class ScriptedStripe:
    """An HTTP server that answers "METHOD /path" (query string aside) as scripted (unscripted:
    a bare 500) and records every request, to see what we send and how we take odd answers."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._answers: dict[str, tuple[int, str]] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def answer(self, method: str, path: str, status: int, body: dict[str, Any]) -> None:
        self._answers[f"{method} {path}"] = (status, json.dumps(body))

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def _respond(self) -> None:
                path, _, query = self.path.partition("?")
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(query) + parse_qsl(self.rfile.read(length).decode()))
                scripted.requests.append(
                    RecordedRequest(self.command, path, dict(self.headers), form)
                )
                status, body = scripted._answers.get(
                    f"{self.command} {path}", (500, "Internal Server Error")
                )
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            do_GET = do_POST = _respond

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test reads `requests` instead."""

        return Handler

    def __enter__(self) -> "ScriptedStripe":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def scripted_stripe() -> Iterator[ScriptedStripe]:
    with ScriptedStripe() as server:
        yield server
