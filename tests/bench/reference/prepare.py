"""`python -m tests.bench.reference.prepare`: create the reference view's database on
Paydesk's PostgreSQL server if it is missing, and its tables (run with
DJANGO_SETTINGS_MODULE=tests.bench.reference.settings)."""

import django
import psycopg
from django.conf import settings
from django.core.management import call_command


def main() -> None:
    db = settings.DATABASES["default"]
    server = {
        "host": db["HOST"] or None,
        "port": db.get("PORT") or None,
        "user": db["USER"] or None,
        "password": db["PASSWORD"] or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        exists = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]
        ).fetchone()
        if not exists:
            admin.execute(f"CREATE DATABASE {db['NAME']}")
    django.setup()
    call_command("migrate", run_syncdb=True, verbosity=0)


if __name__ == "__main__":
    main()
