"""gunicorn settings for `make run` and production (override with the environment).

Threads, not only processes: a worker waiting on a gateway must not block others, and the
GIL is released while waiting on the network or PostgreSQL.
"""

import multiprocessing
import os
import re
import socket
from pathlib import Path
from typing import Any

from gunicorn import util
from gunicorn.glogging import Logger

from config.http_errors import write_json_error
from config.logging import logging_config

bind = os.environ.get("PAYDESK_BIND", "127.0.0.1:8092")
# One process more than cores, 3 threads each (threads cover requests waiting on PostgreSQL
# or a gateway). On 2 cores, in paired `make bench` runs (docs/performance.md): 3 processes
# won 7 of 7 against 2 (median +5 %), 4 lost to 3; then 3 threads won 7 of 7 against 4
# (median +7 %) and beat 2.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "3"))
backlog = 2048
# Each worker accepts on its own SO_REUSEPORT socket and the kernel spreads new connections
# across them. With one shared socket, whichever worker woke first could take every
# keep-alive connection of a burst: one worker at 90 % CPU, the other idle (docs/performance.md).
# The cost: a worker that exits drops the connections still queued on its own socket, as a
# crash would. TCP only (a Unix socket has no SO_REUSEPORT).
_TCP = not bind.startswith(("unix:", "fd://"))
reuse_port = _TCP
# gunicornc's control socket, one per address. gunicorn's default ($HOME/.gunicorn/gunicorn.ctl)
# is shared by every server of the user: a second one (`make bench-reference`, a test, another
# checkout) took it over and deleted it on exit.
_CONTROL_NAME = re.sub(r"[^\w.-]", "_", bind) + ".ctl"
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or str(
    Path(__file__).resolve().parents[1] / ".data" / "gunicorn" / _CONTROL_NAME
)
timeout = 30
graceful_timeout = 20
keepalive = 5
# Workers are not recycled after N requests by default: each recycling dropped the requests
# queued on the worker's socket (17 failed requests in a `make bench` run). Nothing here
# leaks per request; set GUNICORN_MAX_REQUESTS (with 10 % jitter) if something ever does.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
accesslog = "-" if os.environ.get("GUNICORN_ACCESS_LOG") == "1" else None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# gunicorn's own lines in the runbook's format too.
logconfig_dict = logging_config(os.environ.get("LOG_LEVEL", "INFO"))
logconfig_dict["loggers"] |= {
    "gunicorn.error": {"level": loglevel.upper(), "handlers": ["console"], "propagate": False},
    "gunicorn.access": {
        "level": "INFO" if accesslog else "WARNING",
        "handlers": ["console"],
        "propagate": False,
    },
}
proc_name = "paydesk"
# Requests gunicorn's own parser rejects (431, 414, 400…) get the API's JSON envelope instead of
# gunicorn's HTML page, which quotes the rejected input (config/http_errors.py). Replaced here,
# in the master: the workers fork from it.
util.write_error = write_json_error


class AccessLogOptIn(Logger):
    """gunicorn's logger, building access lines only when they are asked for. With a
    `logconfig_dict` (ours formats gunicorn's lines as the runbook's), gunicorn builds every
    request's access-log fields, then its access logger drops the line below WARNING:
    ~1.5 % of a worker's CPU under `make bench`, for nothing."""

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        if accesslog is not None:
            super().access(resp, req, environ, request_time)


logger_class = AccessLogOptIn


def on_starting(server: object) -> None:
    """SO_REUSEPORT would let a second server share the address silently: refuse instead."""
    host, _, port = bind.rpartition(":")
    if not (_TCP and port.isdigit()):
        return  # not a TCP address: nothing to share
    try:
        socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=1).close()
    except OSError:
        return  # nobody is listening there
    raise SystemExit(f"{bind} is already in use: is Paydesk running already?")


def child_exit(server: object, worker: object) -> None:
    """Drop a dead worker's live gauges from the multi-process metrics (prometheus_client)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
