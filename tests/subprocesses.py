"""Environment for a child process (Celery worker, runbook script) that must use the test
database this pytest process is using, and a session of its own like `psql`'s."""

import os
from urllib.parse import quote

import psycopg
from django.db import connection


def database_url() -> str:
    db = connection.settings_dict
    if db["HOST"].startswith("/"):  # Unix socket (embedded PostgreSQL)
        return f"postgres://{db['USER']}@/{quote(db['HOST'], safe='')}/{db['NAME']}"
    credentials = f"{db['USER']}:{quote(db['PASSWORD'] or '', safe='')}"
    return f"postgres://{credentials}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url(), "DB_POOL": "false", **extra}


def psql_session() -> psycopg.Connection:
    """A new autocommit connection to the test database with none of Django's options (no
    search_path): what `psql -d <database>` opens."""
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
        autocommit=True,
    )
