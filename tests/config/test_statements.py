"""config.db.statements: several rows, one statement, all or nothing."""

import json

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditLog, AuditResult
from audit.services import audit_entry
from config.db.statements import Statement, insert_rows, json_dumps, update_where_then_insert
from payments.audit_actions import AuditAction
from payments.models import Merchant

pytestmark = pytest.mark.django_db


def rows(count: int) -> list[AuditLog]:
    return [
        audit_entry(action="test.row", resource_type="test", resource_id=str(number))
        for number in range(count)
    ]


def guard(passes: bool) -> Statement:
    return Statement("SELECT %s::bigint WHERE %s::boolean", [42, passes])


def test_rows_are_inserted_in_one_statement():
    with CaptureQueriesContext(connection) as captured:
        assert insert_rows(*rows(3)) is None

    assert len(captured.captured_queries) == 1
    assert "$1" in captured.captured_queries[0]["sql"]  # PostgreSQL's own placeholders
    assert AuditLog.objects.filter(action="test.row").count() == 3


def test_a_guard_that_returns_its_row_lets_the_rows_in_and_gives_its_value():
    assert insert_rows(*rows(2), guard=guard(True)) == 42

    assert AuditLog.objects.filter(action="test.row").count() == 2


def test_a_guard_that_returns_nothing_keeps_every_row_out():
    instances = rows(2)

    assert insert_rows(*instances, guard=guard(False)) is None

    assert not AuditLog.objects.filter(action="test.row").exists()
    assert all(instance._state.adding for instance in instances)


@pytest.mark.parametrize("matches", [True, False])
def test_statements_run_after_a_compare_and_set_apply_only_when_it_matched(matches):
    ours = Merchant.objects.create(slug="ours", name="Ours")
    theirs = Merchant.objects.create(slug="theirs", name="Theirs")
    ours.name = "Renamed"
    also = Statement(
        "UPDATE merchants SET name = %s WHERE id = %s AND EXISTS (SELECT FROM guard)",
        ["Touched", theirs.id],
    )

    matched = update_where_then_insert(
        ours,
        expected={"name": "Ours" if matches else "Someone else"},
        changes=["name"],
        inserts=rows(1),
        then=[also],
    )

    assert matched is matches
    theirs.refresh_from_db()
    assert theirs.name == ("Touched" if matches else "Theirs")
    assert AuditLog.objects.filter(action="test.row").exists() is matches


def test_json_values_are_stored_as_json_dumps_would_store_them():
    value = {
        "text": "naïve café ✓",
        "nested": {"list": [1, 2.5, None, True], "empty": {}},
        1: "an integer key",
        "big": 2**70,  # beyond orjson's 64 bits: json.dumps writes it
        "status": AuditLog._meta.get_field("result").choices[0][0],
    }
    row = audit_entry(action="test.json", resource_type="test", resource_id="1", new=value)

    insert_rows(row)

    stored = AuditLog.objects.get(action="test.json").new_value
    assert stored == json.loads(json.dumps(value))
    assert stored["1"] == "an integer key" and stored["big"] == 2**70


@pytest.mark.parametrize("value", [{"a": [1, "b", None]}, [1.5, {"2": 3}], {1: 2}, {"n": 2**70}])
def test_json_dumps_writes_what_json_dumps_means(value):
    assert json.loads(json_dumps(value)) == json.loads(json.dumps(value))


def test_choices_members_are_sent_as_plain_strings_and_stored_as_their_values(monkeypatch):
    sent: list[object] = []
    execute = psycopg.RawCursor.execute

    def recording(cursor, query, params=None, **kwargs):
        sent.extend(params or ())
        return execute(cursor, query, params, **kwargs)

    monkeypatch.setattr(psycopg.RawCursor, "execute", recording)
    row = audit_entry(
        action=AuditAction.PAYMENT_CREATED, resource_type="payment", resource_id="pay_1"
    )
    row.result = AuditResult.SUCCESS

    insert_rows(row)

    assert AuditAction.PAYMENT_CREATED.value in sent
    assert all(type(value) is str for value in sent if isinstance(value, str))
    stored = AuditLog.objects.get(resource_id="pay_1")
    assert (stored.action, stored.result) == ("payment.created", "success")
