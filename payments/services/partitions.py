"""Monthly partitions of `payment.transactions` (named transactions_YYYY_MM, as in the runbook)."""

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _existing_partitions() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT child.relname FROM pg_inherits
            JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
            JOIN pg_class child ON child.oid = pg_inherits.inhrelid
            WHERE parent.relname = 'transactions'
              AND parent.relnamespace = to_regnamespace(current_schema())
            """
        )
        return {row[0] for row in cursor.fetchall()}


def transaction_partitions_ensure(*, months_back: int = 0, months_ahead: int = 3) -> list[str]:
    """Create missing monthly partitions from `months_back` before this month to
    `months_ahead` after it; rows already in the default partition for a new month move into
    it. Idempotent. Returns the partitions it created."""
    month = _month_start(timezone.now().date())
    for _ in range(months_back):
        month = _month_start(month - dt.timedelta(days=1))
    existing = _existing_partitions()
    created = []
    for _ in range(months_back + months_ahead + 1):
        following = _next_month(month)
        name = f"transactions_{month:%Y_%m}"
        if name not in existing:
            _partition_create(name, month, following)
            created.append(name)
        month = following
    return created


def _partition_create(name: str, start: dt.date, end: dt.date) -> None:
    bounds = [start.isoformat(), end.isoformat()]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL paydesk.maintenance = 'on'")
        cursor.execute(
            f"CREATE TABLE {name} (LIKE transactions INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        )
        cursor.execute(
            f"""
            WITH moved AS (
                DELETE FROM transactions_default WHERE created_at >= %s AND created_at < %s
                RETURNING *
            ) INSERT INTO {name} SELECT * FROM moved
            """,  # noqa: S608 (name is built from a date above, not from input)
            bounds,
        )
        # DDL takes no bind parameters; the bounds are ISO dates we computed.
        cursor.execute(
            f"ALTER TABLE transactions ATTACH PARTITION {name} "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
