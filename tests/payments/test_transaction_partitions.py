import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from payments.models import Transaction
from payments.services.partitions import transaction_partitions_ensure
from tests.conftest import create_payment


def query(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def execute(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def partitions():
    return {
        name
        for (name,) in query(
            "SELECT c.relname FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
            "JOIN pg_namespace n ON n.oid = p.relnamespace "
            "WHERE n.nspname = 'payment' AND p.relname = 'transactions'"
        )
    }


def rows_in(table):
    return query(f"SELECT count(*) FROM payment.{table}")[0][0]  # noqa: S608


def month_name(months_from_now):
    month = timezone.now().date().replace(day=1)
    for _ in range(abs(months_from_now)):
        if months_from_now > 0:
            month = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        else:
            month = (month - dt.timedelta(days=1)).replace(day=1)
    return f"transactions_{month:%Y_%m}"


@pytest.fixture
def only_default_partition(db):
    """Start from the migration's state (only transactions_default), whatever partitions an
    earlier run committed to a reused test database; the test's rollback restores them."""
    for name in partitions() - {"transactions_default"}:
        execute(f"DROP TABLE payment.{name}")
    assert partitions() == {"transactions_default"}


def test_transactions_table_is_range_partitioned_by_created_at(db):
    ((strategy, key_columns),) = query(
        "SELECT pt.partstrat, array_to_string(array_agg(a.attname), ',') "
        "FROM pg_partitioned_table pt JOIN pg_class c ON c.oid = pt.partrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(pt.partattrs) "
        "WHERE n.nspname = 'payment' AND c.relname = 'transactions' GROUP BY pt.partstrat"
    )
    assert (strategy, key_columns) == ("r", "created_at")
    assert "transactions_default" in partitions()


def test_ensure_creates_monthly_partitions_and_moves_rows_out_of_default(
    api_client, only_default_partition
):
    create_payment(api_client)
    create_payment(api_client, capture_method="manual")
    assert rows_in("transactions_default") == 2

    created = transaction_partitions_ensure(months_back=1, months_ahead=2)

    expected = [month_name(offset) for offset in (-1, 0, 1, 2)]
    assert created == expected
    assert partitions() == {*expected, "transactions_default"}
    assert rows_in("transactions_default") == 0
    assert rows_in(month_name(0)) == 2
    assert Transaction.objects.count() == 2


def test_ensure_is_idempotent(only_default_partition):
    first = transaction_partitions_ensure(months_back=1, months_ahead=2)
    second = transaction_partitions_ensure(months_back=1, months_ahead=2)

    assert len(first) == 4
    assert second == []


def test_new_rows_land_in_their_month_partition(api_client, only_default_partition):
    transaction_partitions_ensure(months_back=0, months_ahead=1)

    create_payment(api_client)

    assert rows_in(month_name(0)) == 1
    assert rows_in("transactions_default") == 0


def test_rows_in_a_month_partition_are_still_append_only(api_client, only_default_partition):
    create_payment(api_client)
    transaction_partitions_ensure(months_back=0, months_ahead=0)
    execute("SET LOCAL paydesk.maintenance = 'off'")  # the partition command sets it for itself

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        execute(f"UPDATE payment.{month_name(0)} SET amount = 1")  # noqa: S608
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        execute(f"DELETE FROM payment.{month_name(0)}")  # noqa: S608


def test_runbook_partition_statement_works(db):
    execute(
        "CREATE TABLE payment.transactions_2024_01 PARTITION OF payment.transactions "
        "FOR VALUES FROM ('2024-01-01') TO ('2024-02-01')"
    )

    assert "transactions_2024_01" in partitions()
    execute("DROP TABLE payment.transactions_2024_01")
    assert "transactions_2024_01" not in partitions()


def test_ledger_rows_reject_update_and_delete(api_client):
    create_payment(api_client)
    ledger_row = Transaction.objects.get()

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Transaction.objects.filter(pk=ledger_row.pk).update(amount=1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Transaction.objects.filter(pk=ledger_row.pk).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        execute("UPDATE payment.transactions SET status = 'DECLINED'")

    assert Transaction.objects.get().amount == ledger_row.amount


def test_sanctioned_maintenance_may_rewrite_ledger_rows(api_client):
    create_payment(api_client)

    with transaction.atomic():
        execute("SET LOCAL paydesk.maintenance = 'on'")
        execute("UPDATE payment.transactions SET latency_ms = 7")

    assert Transaction.objects.get().latency_ms == 7
