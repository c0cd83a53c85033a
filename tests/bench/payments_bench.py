"""`make bench`: load POST /api/v1/payments on a running server (`make run`) with wrk.

Closed loop, 64 connections, unique Idempotency-Key per request, sandbox gateway. Prints
throughput, p50/p90/p99 latency, errors, and SQL statements per payment (measured in-process
on the same code). Environment: BENCH_URL (default http://127.0.0.1:8092), BENCH_API_KEY
(default: the demo key from .data/demo-credentials.json), BENCH_CONNECTIONS (64),
BENCH_DURATION (30s), BENCH_THREADS (2).
"""

import datetime as dt
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LUA = Path(__file__).with_name("payment_create.lua")


def api_key() -> str:
    if os.environ.get("BENCH_API_KEY"):
        return os.environ["BENCH_API_KEY"]
    credentials = ROOT / ".data" / "demo-credentials.json"
    if not credentials.exists():
        sys.exit(
            "No BENCH_API_KEY and no demo credentials: start the server with `make run` first."
        )
    return json.loads(credentials.read_text())["api_key"]


def wait_healthy(url: str) -> None:
    for _ in range(60):
        try:
            with urllib.request.urlopen(f"{url}/actuator/health", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    sys.exit(f"{url}/actuator/health is not UP: is `make run` serving?")


def run_wrk(url: str, key: str, duration: str, script: Path = LUA) -> dict[str, float]:
    threads = os.environ.get("BENCH_THREADS", "2")
    connections = os.environ.get("BENCH_CONNECTIONS", "64")
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    output = subprocess.run(
        command,
        env={**os.environ, "BENCH_API_KEY": key},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"^RESULT (.*)$", output, re.MULTILINE)
    if not match:
        sys.exit(f"wrk printed no RESULT line:\n{output}")
    return {
        name: float(value) for name, value in (pair.split("=") for pair in match.group(1).split())
    }


def random_visa() -> str:
    """A fresh Luhn-valid Visa number (a fixed one is held for review after 100 per hour)."""
    digits = [4] + [secrets.randbelow(10) for _ in range(14)]
    total = sum(
        (d * 2 - 9 if d * 2 > 9 else d * 2) if index % 2 == 0 else d
        for index, d in enumerate(reversed(digits))
    )
    return "".join(map(str, digits)) + str((10 - total % 10) % 10)


def queries_per_payment() -> int:
    """Count SQL statements for one payment through the real view stack, in this process."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    body = {
        "amount": 1999,
        "currency": "usd",
        "payment_method_data": {
            "type": "card",
            "card": {"number": random_visa(), "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        },
    }
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {api_key()}"}

    def pay() -> Any:
        return client.post(
            "/api/v1/payments",
            json.dumps(
                {
                    **body,
                    "payment_method_data": {
                        **body["payment_method_data"],
                        "card": {**body["payment_method_data"]["card"], "number": random_visa()},
                    },
                }
            ),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=f"bench-count-{time.time_ns()}",
            **headers,
        )

    from payments.services.api_key_cache import api_key_cache_listening

    pay()  # warm: routing, breaker and fraud-rule caches (a few reads per second per process)
    # The API key cache, as in the server: its listener connected, the key's last use recorded
    # (and notified), then the key read into it.
    api_key_cache_listening(timeout=10)
    time.sleep(0.3)
    pay()
    with CaptureQueriesContext(connection) as captured:
        response = pay()
    assert response.status_code == 201, response.content
    return len(captured.captured_queries)


def outcomes_since(started: float) -> dict[str, int]:
    """Statuses of the benchmark's payments (their Idempotency-Keys start with `bench-`), so a
    run where fraud rules held everything for review cannot pass for a fast one."""
    from django.db.models import Count

    from payments.models import Payment

    rows = (
        Payment.objects.filter(
            idempotency_key__startswith="bench-",
            created_at__gte=dt.datetime.fromtimestamp(started, tz=dt.UTC),
        )
        .values("status")
        .annotate(n=Count("id"))
    )
    return {row["status"]: row["n"] for row in rows}


def cpu_seconds_by_program() -> dict[str, float]:
    """CPU time (user + system) used so far by every process of this machine, per program
    name (gunicorn's workers, PostgreSQL's backends), from /proc. Ended processes' time counts
    too, through their parent's (gunicorn's arbiter, the postmaster) reaped-children time: a
    worker restarting during a run does not make the total go backwards."""
    ticks = os.sysconf("SC_CLK_TCK")
    totals: dict[str, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        own_and_reaped = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        totals[name] = totals.get(name, 0.0) + own_and_reaped / ticks
    return totals


def cpu_ms_per_request(
    before: dict[str, float], after: dict[str, float], requests: float
) -> dict[str, float]:
    """Milliseconds of CPU per request of the server's programs (gunicorn, PostgreSQL): on a
    shared machine this is steadier than throughput (see docs/performance.md)."""
    return {
        name: (after.get(name, 0.0) - before.get(name, 0.0)) * 1000 / requests
        for name in ("gunicorn", "postgres")
        if after.get(name, 0.0) > before.get(name, 0.0)
    }


def cpu_per_payment(before: dict[str, float], after: dict[str, float], payments: float) -> str:
    """`cpu_ms_per_request`, as `make bench` prints it."""
    spent = cpu_ms_per_request(before, after, payments)
    return ", ".join(f"{name} {ms:.2f} ms" for name, ms in spent.items())


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    url = os.environ.get("BENCH_URL", "http://127.0.0.1:8092")
    key = api_key()
    wait_healthy(url)
    run_wrk(url, key, "5s")  # warm-up: pools, caches, JIT-free but page cache warm
    started = time.time()
    cpu_before = cpu_seconds_by_program()
    result = run_wrk(url, key, os.environ.get("BENCH_DURATION", "30s"))
    cpu = cpu_per_payment(cpu_before, cpu_seconds_by_program(), result["requests"])
    result["queries_per_payment"] = queries_per_payment()
    outcomes = outcomes_since(started)
    connections = os.environ.get("BENCH_CONNECTIONS", "64")
    print(
        f"POST /api/v1/payments, {connections} connections, sandbox gateway:\n"
        f"  {result['rps']:.0f} payments/s over {result['seconds']:.0f}s "
        f"({result['requests']:.0f} requests)\n"
        f"  latency p50 {result['p50_ms']:.1f} ms, p90 {result['p90_ms']:.1f} ms, "
        f"p99 {result['p99_ms']:.1f} ms, max {result['max_ms']:.1f} ms\n"
        f"  errors {result['errors']:.0f} (non-2xx {result['non2xx']:.0f})\n"
        f"  SQL statements per payment: {result['queries_per_payment']}\n"
        f"  CPU per payment: {cpu}\n"
        f"  outcomes: {', '.join(f'{status} {n}' for status, n in sorted(outcomes.items()))}"
    )
    result["outcomes"] = outcomes
    result["cpu_per_payment"] = cpu
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / f"payments-{time.strftime('%Y%m%dT%H%M%S')}.json").write_text(
        json.dumps(result, indent=2)
    )


if __name__ == "__main__":
    main()
