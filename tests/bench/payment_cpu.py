"""`make bench-cpu`: the CPU one payment costs, without HTTP, load or noise.

Calls the WSGI application (the same object gunicorn serves) with POST /api/v1/payments, one
request at a time in this process, against `make run`'s database, and prints the Python CPU
per payment (this process) and the PostgreSQL CPU per payment (every postgres process, from
/proc). Steady to a few percent between runs, so it shows what a change to the hot path is
worth before `make bench` does. Options: BENCH_PAYMENTS (2000); BENCH_PROFILE=cumulative or
tottime prints the functions that cost most (cProfile on CPU time; it inflates every number,
compare ratios only).
"""

import cProfile
import io
import json
import logging
import os
import pstats
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from payments_bench import api_key, cpu_seconds_by_program, random_visa  # noqa: E402


def main() -> None:
    from config.wsgi import application

    key = api_key()
    statuses: dict[str, int] = {}

    def pay(number: int) -> None:
        body = json.dumps(
            {
                "amount": 1999,
                "currency": "usd",
                "payment_method_data": {
                    "type": "card",
                    "card": {
                        "number": random_visa(),
                        "exp_month": 12,
                        "exp_year": 2030,
                        "cvc": "123",
                    },
                },
            }
        ).encode()
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/api/v1/payments",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8092",
            "HTTP_HOST": "127.0.0.1:8092",
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_AUTHORIZATION": f"Bearer {key}",
            "HTTP_IDEMPOTENCY_KEY": f"bench-cpu-{time.time_ns()}-{number}",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
        }

        def start_response(status: str, headers: list, exc_info: Any = None) -> None:
            statuses[status] = statuses.get(status, 0) + 1

        response = application(environ, start_response)
        b"".join(response)
        response.close()

    logging.disable(logging.INFO)  # the payment log lines would measure the terminal
    count = int(os.environ.get("BENCH_PAYMENTS", "2000"))
    for number in range(100):  # warm: caches, prepared statements, pool
        pay(number)
    statuses.clear()
    postgres_before = cpu_seconds_by_program().get("postgres", 0.0)
    python_before = time.process_time()
    for number in range(count):
        pay(number)
    python_ms = (time.process_time() - python_before) * 1000 / count
    postgres_ms = (cpu_seconds_by_program().get("postgres", 0.0) - postgres_before) * 1000 / count
    print(
        f"POST /api/v1/payments, {count} payments one at a time, no HTTP:\n"
        f"  Python {python_ms:.3f} ms, PostgreSQL {postgres_ms:.3f} ms of CPU per payment\n"
        f"  answers: {statuses}"
    )
    order = os.environ.get("BENCH_PROFILE")
    if order:
        profile = cProfile.Profile(time.process_time)
        profile.runcall(lambda: [pay(number) for number in range(min(count, 1000))])
        pstats.Stats(profile).sort_stats(order).print_stats(40)


if __name__ == "__main__":
    main()
