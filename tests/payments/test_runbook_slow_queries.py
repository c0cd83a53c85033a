"""The runbook's slow-query SQL (ops-guide: Troubleshooting, Performance Optimization) runs as
written: `FROM pg_stat_statements` resolves in Django's connections (search_path=payment) and in
a plain `psql` session, and on a server that preloads the library it reports slow statements.

The view answers only where the server preloads the library (shared_preload_libraries); this
machine's PostgreSQL, which CI uses, does not, so the queries run end to end on a throwaway
server started from the same binaries with the setting README asks operators for."""

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.db import ProgrammingError, connection, transaction
from psycopg.errors import ObjectNotInPrerequisiteState, UndefinedTable
from psycopg.rows import dict_row

from tests.subprocesses import psql_session

ROOT = Path(__file__).resolve().parents[2]

# Verbatim from the runbook, trailing space after SELECT included.
CHECK_SLOW_QUERIES = """SELECT 
    query,
    calls,
    mean_exec_time,
    total_exec_time
FROM pg_stat_statements
WHERE mean_exec_time > 100
ORDER BY mean_exec_time DESC
LIMIT 10;"""  # noqa: W291
IDENTIFY_SLOW_QUERIES = """SELECT 
    query,
    calls,
    total_exec_time,
    mean_exec_time,
    stddev_exec_time
FROM pg_stat_statements
WHERE mean_exec_time > 100
ORDER BY mean_exec_time DESC;"""  # noqa: W291
RUNBOOK_SLOW_QUERIES = pytest.mark.parametrize(
    "sql", [CHECK_SLOW_QUERIES, IDENTIFY_SLOW_QUERIES], ids=["check", "identify"]
)


def _embedded_server_lacks_pg_stat_statements() -> bool:
    """`make test` without DATABASE_URL runs on pgserver, whose PostgreSQL (0.1.4: 16.2 with
    pgvector, no contrib modules) ships no pg_stat_statements for the migration to create."""
    if os.environ.get("DATABASE_URL"):
        return False
    import pgserver

    extensions = Path(pgserver.__file__).parent / "pginstall" / "share" / "postgresql" / "extension"
    return not (extensions / "pg_stat_statements.control").exists()


def needs_the_extension(missing: type[Exception]) -> pytest.MarkDecorator:
    """Expected to fail, with `missing`, where the server has no pg_stat_statements to create."""
    return pytest.mark.xfail(
        _embedded_server_lacks_pg_stat_statements(),
        reason="the embedded PostgreSQL (pgserver) ships no pg_stat_statements",
        raises=missing,
        strict=True,
    )


def _preloaded(cursor) -> bool:
    cursor.execute("SHOW shared_preload_libraries")
    return "pg_stat_statements" in cursor.fetchone()[0]


def _answer(cursor, sql: str, atomic: Callable = contextlib.nullcontext) -> str:
    """What the server answers the runbook: rows, or the view's refusal on a server that does
    not preload the library. Anything else raises: a missing relation is what the runbook met."""
    try:
        with atomic():
            cursor.execute(sql)
            cursor.fetchall()
    except Exception as error:
        refusal = error.__cause__ or error  # Django wraps psycopg's error
        if isinstance(refusal, ObjectNotInPrerequisiteState):
            assert "must be loaded via shared_preload_libraries" in str(refusal)
            return "not preloaded"
        raise
    return "rows"


@needs_the_extension(AssertionError)
def test_migrations_create_the_extension_in_the_payment_schema(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT extnamespace::regnamespace::text FROM pg_extension "
            "WHERE extname = 'pg_stat_statements'"
        )
        assert cursor.fetchall() == [("payment",)]


@needs_the_extension(ProgrammingError)
@RUNBOOK_SLOW_QUERIES
def test_runbook_slow_queries_resolve_in_a_django_connection(db, sql):
    with connection.cursor() as cursor:
        expected = "rows" if _preloaded(cursor) else "not preloaded"
        # In a savepoint: a refused query must not abort the test's transaction.
        assert _answer(cursor, sql, transaction.atomic) == expected


@needs_the_extension(UndefinedTable)
@RUNBOOK_SLOW_QUERIES
def test_runbook_slow_queries_resolve_in_a_psql_session(db, sql):
    with psql_session() as psql:
        cursor = psql.cursor()
        expected = "rows" if _preloaded(cursor) else "not preloaded"

        assert _answer(cursor, sql) == expected


@pytest.fixture(scope="module")
def preloading_server() -> Iterator[Path]:
    """A throwaway PostgreSQL from this machine's binaries (`pg_config --bindir`), started with
    shared_preload_libraries=pg_stat_statements as README asks of operators and migrated by
    Paydesk. Yields the directory of its Unix socket (no port taken)."""
    found = subprocess.run(["pg_config", "--bindir"], check=True, capture_output=True, text=True)
    bindir = Path(found.stdout.strip())
    home = Path(tempfile.mkdtemp(prefix="paydesk-pgss-"))
    user = "postgres" if os.geteuid() == 0 else None  # initdb and postgres refuse root
    if user:
        shutil.chown(home, user)
    pgdata, options = home / "pg", f"-h '' -k {home} -c shared_preload_libraries=pg_stat_statements"

    def pg(*args: str | Path) -> None:
        subprocess.run([*map(str, args)], check=True, capture_output=True, user=user, timeout=60)

    pg(bindir / "initdb", "-D", pgdata, "--auth=trust", "-U", "postgres")
    pg(bindir / "pg_ctl", "-D", pgdata, "-l", home / "log", "-o", options, "-w", "start")
    try:
        _migrate(home)
        yield home
    finally:
        pg(bindir / "pg_ctl", "-D", pgdata, "-m", "immediate", "-w", "stop")
        shutil.rmtree(home)


def _migrate(socket_dir: Path) -> None:
    url = f"postgres://postgres@/{quote(str(socket_dir), safe='')}/postgres"  # django-environ's
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url, "DB_POOL": "false"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def slow_statement(preloading_server) -> str:
    """One statement slower than the runbook's 100 ms threshold, run once."""
    with psycopg.connect(host=str(preloading_server), user="postgres", dbname="postgres") as conn:
        conn.execute("SELECT pg_sleep(0.15)")
    return "SELECT pg_sleep($1)"  # as pg_stat_statements normalizes it


@pytest.mark.xfail(
    shutil.which("pg_config") is None,
    reason="no PostgreSQL server binaries on this machine to start a preloading server from",
    raises=FileNotFoundError,
    strict=True,
)
@RUNBOOK_SLOW_QUERIES
@pytest.mark.parametrize(
    "options", ["-c search_path=payment", ""], ids=["django_connection", "psql_session"]
)
def test_runbook_slow_queries_report_the_slow_statement(
    preloading_server, slow_statement, sql, options
):
    with psycopg.connect(
        host=str(preloading_server), user="postgres", dbname="postgres", options=options
    ) as session:
        rows = session.cursor(row_factory=dict_row).execute(sql).fetchall()

    (slow,) = [row for row in rows if row["query"] == slow_statement]
    assert slow["calls"] == 1
    assert slow["mean_exec_time"] > 100
    assert rows == sorted(rows, key=lambda row: row["mean_exec_time"], reverse=True)
