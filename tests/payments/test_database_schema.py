"""The runbook's SQL resolves against Paydesk (schema `payment`) as written, except its
index-usage query: pg_stat_user_indexes has no `tablename` or `indexname` column in any
PostgreSQL, so the corrected query of docs/decisions.md ("Runbook SQL") runs instead. The
slow-query SQL has tests/payments/test_runbook_slow_queries.py."""

from datetime import timedelta

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from tests.conftest import client_for, create_payment
from tests.subprocesses import psql_session
from webhooks.models import WebhookLog


def query(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def test_every_model_table_lives_in_the_payment_schema(db):
    tables = {
        name
        for (name,) in query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'payment'"
        )
    }
    public = {
        name
        for (name,) in query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
    }

    model_tables = {model._meta.db_table for model in apps.get_models() if model._meta.managed}
    assert model_tables <= tables
    assert not model_tables & public
    assert {"payments", "transactions", "audit_log", "security_events"} <= tables


def test_payments_table_has_the_runbook_columns(db):
    columns = dict(
        query(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'payment' AND table_name = 'payments'"
        )
    )

    expected = {
        "id",
        "customer_id",
        "amount",
        "currency",
        "status",
        "gateway",
        "error_code",
        "created_at",
    }
    assert expected <= set(columns)
    assert columns["amount"] == "bigint"
    assert columns["created_at"] == "timestamp with time zone"


def test_payment_statuses_are_stored_uppercase(api_client):
    create_payment(api_client)
    create_payment(api_client, "4000000000000002")
    create_payment(api_client, capture_method="manual")
    create_payment(api_client, "4000002760003184")

    stored = {status for (status,) in query("SELECT DISTINCT status FROM payment.payments")}

    assert stored == {"COMPLETED", "FAILED", "AUTHORIZED", "REQUIRES_ACTION"}


@pytest.mark.parametrize("status", ["completed", "Failed", "SETTLED", ""])
def test_the_database_refuses_a_status_the_runbook_does_not_know(api_client, status):
    payment_id = create_payment(api_client).json()["id"]

    with pytest.raises(IntegrityError), transaction.atomic():
        query("UPDATE payment.payments SET status = %s WHERE id = %s", [status, payment_id])


def test_customer_created_index_exists(db):
    ((definition,),) = query(
        "SELECT indexdef FROM pg_indexes "
        "WHERE schemaname = 'payment' AND indexname = 'idx_payments_customer_created'"
    )

    assert "(customer_id, created_at DESC)" in definition


# Index entries written per payment are PostgreSQL's largest cost on the hot path (see
# docs/performance.md): an index added to one of these tables must change this budget.
HOT_PATH_INDEX_BUDGET = {
    "payments": 8,
    "payment_methods": 5,
    "audit_log": 4,
    "fraud_checks": 3,
    "fraud_observations": 6,
    "idempotency_keys": 3,
    "outbox_events": 3,
    "sandbox_operations": 3,
}


def test_the_hot_path_tables_keep_their_index_budget(db):
    counts = dict(
        query(
            "SELECT tablename, count(*) FROM pg_indexes WHERE schemaname = 'payment' "
            "AND tablename = ANY(%s) GROUP BY tablename",
            [list(HOT_PATH_INDEX_BUDGET)],
        )
    )

    assert counts == HOT_PATH_INDEX_BUDGET


def test_no_pattern_ops_index_doubles_an_index(db):
    """Django's `_like` (varchar_pattern_ops) twins: nothing queries ids or keys with LIKE."""
    assert (
        query(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'payment' "
            "AND indexdef LIKE '%%pattern_ops%%'"
        )
        == []
    )


def test_runbook_failure_analysis_query_groups_recent_declines(api_client):
    create_payment(api_client, "4000000000009995", amount=1000)
    create_payment(api_client, "4000000000009995", amount=3000)
    create_payment(api_client, "4000000000000002", amount=500)
    create_payment(api_client, amount=700)

    rows = query(
        "SELECT gateway, error_code, COUNT(*) as count, AVG(amount) FROM payment.payments "
        "WHERE status = 'FAILED' AND created_at > NOW() - INTERVAL '1 hour' "
        "GROUP BY gateway, error_code ORDER BY count DESC"
    )

    assert [(gateway, code, count, int(avg)) for gateway, code, count, avg in rows] == [
        ("sandbox", "insufficient_funds", 2, 2000),
        ("sandbox", "generic_decline", 1, 500),
    ]


def test_runbook_monthly_compliance_query_runs(api_client):
    create_payment(api_client, amount=1000)
    create_payment(api_client, "4000000000000002", amount=500)

    ((total, successful, failed, volume),) = query(
        "SELECT COUNT(*), SUM(CASE WHEN status = 'COMPLETED' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status = 'FAILED' THEN 1 ELSE 0 END), SUM(amount) FROM payment.payments "
        "WHERE created_at >= DATE_TRUNC('month', CURRENT_DATE - INTERVAL '1 month') "
        "GROUP BY DATE_TRUNC('month', created_at)"
    )

    assert (total, successful, failed, volume) == (2, 1, 1, 1500)


def test_runbook_security_events_query_runs(db):
    client_for("sk_test_wrong").get("/api/v1/payments")

    rows = query(
        "SELECT event_type, COUNT(*) as occurrences, COUNT(DISTINCT user_id), "
        "COUNT(DISTINCT ip_address) FROM payment.security_events "
        "WHERE created_at >= DATE_TRUNC('month', CURRENT_DATE - INTERVAL '1 month') "
        "GROUP BY event_type ORDER BY occurrences DESC"
    )

    assert rows == [("auth.api_key_failed", 1, 1, 1)]


# The runbook's "Check index usage", corrected as docs/decisions.md shows it.
CHECK_INDEX_USAGE = """
SELECT
    schemaname,
    relname AS tablename,
    indexrelname AS indexname,
    idx_scan,
    idx_tup_read,
    idx_tup_fetch
FROM pg_stat_user_indexes
WHERE schemaname = 'payment'
ORDER BY idx_scan;
"""


@pytest.mark.django_db(transaction=True)  # REINDEX of a partitioned table needs autocommit
def test_runbook_maintenance_statements_run():
    with connection.cursor() as cursor:
        for table in ("payment.payments", "payment.transactions"):
            cursor.execute(f"REINDEX TABLE {table}")
            cursor.execute(f"ANALYZE {table}")
        cursor.execute(CHECK_INDEX_USAGE)
        indexes = {row[2] for row in cursor.fetchall()}

    assert "idx_payments_customer_created" in indexes


def test_amount_columns_document_minor_units(db):
    ((comment,),) = query(
        "SELECT col_description('payment.payments'::regclass, attnum) FROM pg_attribute "
        "WHERE attrelid = 'payment.payments'::regclass AND attname = 'amount'"
    )

    assert "minor units" in comment.lower()


@pytest.mark.django_db(transaction=True)  # the plain session sees committed rows only
def test_runbook_webhook_log_cleanup_runs_in_a_psql_session():
    """`psql -d <database>` sets no search_path: the database's own (`payment, public`, set by a
    migration) lets the runbook's unqualified table name resolve."""
    old, recent = (WebhookLog.objects.create(provider="stripe", body="{}") for _ in range(2))
    WebhookLog.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))

    with psql_session() as psql:
        deleted = psql.execute(
            "DELETE FROM webhook_logs WHERE created_at < NOW() - INTERVAL '30 days';"
        ).rowcount

    assert deleted == 1
    assert list(WebhookLog.objects.values_list("pk", flat=True)) == [recent.pk]
