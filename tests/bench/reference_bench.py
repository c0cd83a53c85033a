"""`make bench-reference`: Paydesk's throughput read against this machine's own yardstick.

DESIGN.md budgets the hot path against a plain DRF view doing a payment's three inserts,
"~700/s on a 2-core machine like ours", and sets the target at 500 payments/s: 0.71 of it.
This machine's speed drifts by tens of percent between hours and machines (docs/performance.md),
so a payments/s figure alone cannot say whether the code or the machine moved. This serves that
plain view (tests/bench/reference, its own database on the same PostgreSQL server, gunicorn
with Paydesk's settings on 127.0.0.1:8094) beside a running `make run`, and loads the two in
turn with the same wrk settings: pairs of short runs, the order swapped every pair.

Environment: BENCH_PAIRS (5), BENCH_DURATION (10s), BENCH_CONNECTIONS (64), BENCH_URL
(Paydesk, http://127.0.0.1:8092), BENCH_REFERENCE_BIND (127.0.0.1:8094).
"""

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from payments_bench import (
    LUA,
    ROOT,
    api_key,
    cpu_ms_per_request,
    cpu_seconds_by_program,
    run_wrk,
    wait_healthy,
)

REFERENCE_LUA = Path(__file__).with_name("reference_create.lua")
SETTINGS = "tests.bench.reference.settings"
# DESIGN.md's performance notes: the plain view on "a 2-core machine like ours", and the target.
DESIGN_REFERENCE_PER_SECOND = 700
DESIGN_POSTGRES_PER_SECOND = (6000, 7000)
TARGET_PER_SECOND = 500


def _reference_module(module: str, *args: str) -> str:
    """Run one of tests/bench/reference's modules with the reference's settings; its output."""
    return subprocess.run(
        [sys.executable, "-m", f"tests.bench.reference.{module}", *args],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS},
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def prepare_database() -> None:
    """Create the reference's database on Paydesk's server if missing, and its tables."""
    _reference_module("prepare")


def postgres_alone(seconds: int, clients: str) -> float:
    """pgbench's payment-shaped transactions per second on the reference's database."""
    return float(_reference_module("postgres_alone", str(seconds), clients))


def start_reference(bind: str) -> subprocess.Popen:
    """gunicorn with Paydesk's own settings (processes, threads, SO_REUSEPORT, keep-alive)."""
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "tests.bench.reference.wsgi:application",
            "-c",
            "config/gunicorn.py",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "PAYDESK_BIND": bind,
            "LOG_LEVEL": "WARNING",
            "PROMETHEUS_MULTIPROC_DIR": "",
        },
        start_new_session=True,
    )
    body = json.dumps({"amount": 1999, "currency": "usd"}).encode()
    for _ in range(60):
        request = urllib.request.Request(
            f"http://{bind}/payments", body, {"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
                if response.status == 201:
                    return server
        except OSError:  # not listening yet, or an HTTP error (HTTPError is one)
            time.sleep(1)
    stop(server)
    sys.exit(f"The reference view on {bind} did not answer 201.")


def stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


def measured(url: str, key: str, duration: str, script: Path) -> dict[str, float]:
    """wrk's numbers, and the CPU per request of gunicorn and PostgreSQL (`cpu_ms`, their
    sum): only the server under load is busy, the other one idles."""
    before = cpu_seconds_by_program()
    result = run_wrk(url, key, duration, script)
    spent = cpu_ms_per_request(before, cpu_seconds_by_program(), result["requests"])
    cpu = {f"{name}_ms": ms for name, ms in spent.items()}
    return result | cpu | {"cpu_ms": sum(spent.values())}


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    paydesk_url = os.environ.get("BENCH_URL", "http://127.0.0.1:8092")
    bind = os.environ.get("BENCH_REFERENCE_BIND", "127.0.0.1:8094")
    reference_url = f"http://{bind}"
    pairs = int(os.environ.get("BENCH_PAIRS", "5"))
    duration = os.environ.get("BENCH_DURATION", "10s")
    key = api_key()
    wait_healthy(paydesk_url)
    prepare_database()
    server = start_reference(bind)
    try:
        paydesk = (paydesk_url, key, duration, LUA)
        reference = (reference_url, "", duration, REFERENCE_LUA)
        for url, secret, _, script in (paydesk, reference):  # warm both: pools, caches
            run_wrk(url, secret, "3s", script)
        runs: list[tuple[dict[str, float], dict[str, float]]] = []
        for pair in range(pairs):
            order = (paydesk, reference) if pair % 2 == 0 else (reference, paydesk)
            first, second = (measured(*target) for target in order)
            runs.append((first, second) if pair % 2 == 0 else (second, first))
    finally:
        stop(server)
    connections = os.environ.get("BENCH_CONNECTIONS", "64")
    postgres = postgres_alone(int(duration.rstrip("s")), connections)
    report(runs, postgres, connections, duration)


def _median(results: list[dict[str, float]], name: str) -> float:
    return statistics.median(result.get(name, 0.0) for result in results)


def _line(results: list[dict[str, float]]) -> str:
    rates = ", ".join(f"{result['rps']:.0f}" for result in results)
    return (
        f"{rates} /s (median {_median(results, 'rps'):.0f}), "
        f"errors {sum(result['errors'] for result in results):.0f}; CPU per request (median) "
        f"gunicorn {_median(results, 'gunicorn_ms'):.2f} ms + postgres "
        f"{_median(results, 'postgres_ms'):.2f} ms = {_median(results, 'cpu_ms'):.2f} ms"
    )


def report(runs: list[tuple[dict, dict]], postgres: float, connections: str, duration: str) -> None:
    """Two ratios of Paydesk to the reference: of throughput (what the target is written in;
    each pair ran minutes apart at most) and of CPU per request (steadier: it does not
    depend on how busy the machine was with anything else). Then this machine against
    DESIGN.md's, by both of its yardsticks."""
    paydesk = [run[0] for run in runs]
    reference = [run[1] for run in runs]
    ratios = [p["rps"] / r["rps"] for p, r in runs]
    throughput_ratio = statistics.median(ratios)
    cpu_ratio = _median(reference, "cpu_ms") / _median(paydesk, "cpu_ms")
    target_ratio = TARGET_PER_SECOND / DESIGN_REFERENCE_PER_SECOND
    low, high = DESIGN_POSTGRES_PER_SECOND
    print(
        f"{len(runs)} pairs of {duration} runs, {connections} connections, order swapped "
        "every pair:\n"
        f"  Paydesk POST /api/v1/payments:       {_line(paydesk)}\n"
        f"  reference plain DRF view, 3 inserts: {_line(reference)}\n"
        f"  Paydesk / reference, payments/s: {', '.join(f'{r:.2f}' for r in ratios)} "
        f"(median {throughput_ratio:.2f}); by CPU per request: {cpu_ratio:.2f}\n"
        f"  DESIGN.md's machine runs the plain view at ~{DESIGN_REFERENCE_PER_SECOND}/s and "
        f"targets {TARGET_PER_SECOND} payments/s there (ratio {target_ratio:.2f}); at these "
        f"ratios Paydesk would do ~{throughput_ratio * DESIGN_REFERENCE_PER_SECOND:.0f} "
        f"(throughput) or ~{cpu_ratio * DESIGN_REFERENCE_PER_SECOND:.0f} (CPU) payments/s "
        "there.\n"
        f"  This machine against DESIGN.md's: the plain view {_median(reference, 'rps'):.0f}/s "
        f"(there ~{DESIGN_REFERENCE_PER_SECOND}/s: "
        f"{_median(reference, 'rps') / DESIGN_REFERENCE_PER_SECOND:.2f}); PostgreSQL alone "
        f"(pgbench, the 3 inserts as one transaction, {connections} clients) {postgres:.0f}/s "
        f"(there ~{low:,}-{high:,}/s: "
        f"{postgres / high:.2f}-{postgres / low:.2f})."
    )
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / f"reference-{time.strftime('%Y%m%dT%H%M%S')}.json").write_text(
        json.dumps(
            {
                "paydesk": paydesk,
                "reference": reference,
                "ratios": ratios,
                "postgres_alone_per_second": postgres,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
