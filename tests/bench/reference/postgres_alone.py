"""`python -m tests.bench.reference.postgres_alone SECONDS CLIENTS`: DESIGN.md's other yardstick,
"PostgreSQL alone commits ~6,000-7,000 payment-shaped transactions/s". pgbench runs the
reference view's three inserts (payment_shaped.sql) as one transaction from CLIENTS clients against
the reference database, and this prints the transactions per second it reports
(run with DJANGO_SETTINGS_MODULE=tests.bench.reference.settings, after `prepare`)."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from django.conf import settings

SCRIPT = Path(__file__).with_name("payment_shaped.sql")


def pgbench() -> str:
    """The embedded server's own pgbench when there is one, else the machine's."""
    try:
        import pgserver
    except ImportError:
        pgserver = None
    if pgserver is not None:
        bundled = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pgbench"
        if bundled.exists():
            return str(bundled)
    found = shutil.which("pgbench")
    if found is None:
        sys.exit("pgbench is not installed: apt-get install postgresql-client")
    return found


def transactions_per_second(seconds: int, clients: int) -> float:
    db = settings.DATABASES["default"]
    server = {
        "PGHOST": db["HOST"],
        "PGPORT": str(db.get("PORT") or ""),
        "PGUSER": db["USER"],
        "PGPASSWORD": db["PASSWORD"],
        "PGDATABASE": db["NAME"],
    }
    result = subprocess.run(
        [
            pgbench(),
            "-n",
            "-M",
            "prepared",
            "-j",
            "2",
            "-f",
            str(SCRIPT),
            f"-c{clients}",
            f"-T{seconds}",
        ],
        env={**os.environ, **{name: value for name, value in server.items() if value}},
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"tps = ([\d.]+)", result.stdout)
    if found is None:
        sys.exit(f"pgbench printed no tps:\n{result.stdout}{result.stderr}")
    return float(found.group(1))


if __name__ == "__main__":
    print(transactions_per_second(int(sys.argv[1]), int(sys.argv[2])))
