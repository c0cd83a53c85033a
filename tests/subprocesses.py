"""Environment for a child process (Celery worker, runbook script) that must use the test
database this pytest process is using."""

import os
from urllib.parse import quote

from django.db import connection


def database_url() -> str:
    db = connection.settings_dict
    if db["HOST"].startswith("/"):  # Unix socket (embedded PostgreSQL)
        return f"postgres://{db['USER']}@/{quote(db['HOST'], safe='')}/{db['NAME']}"
    credentials = f"{db['USER']}:{quote(db['PASSWORD'] or '', safe='')}"
    return f"postgres://{credentials}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url(), "DB_POOL": "false", **extra}
