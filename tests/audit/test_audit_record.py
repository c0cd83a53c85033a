import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction

from audit.context import RequestContext, acting_as, cli_context
from audit.models import AuditLog
from audit.services import audit_record
from payments.cards import card_input_validate
from payments.models import Customer, Payment, PaymentMethod, PaymentStatus, Transaction
from payments.services.api_keys import api_key_issue, api_key_revoke, api_key_rotate
from payments.services.customers import customer_create
from payments.services.payments import payment_create
from tests.conftest import PAYMENTS_URL, create_payment, payment_body
from webhooks.models import OutboxEvent

CLIENT = {"HTTP_USER_AGENT": "shop-backend/1.0", "REMOTE_ADDR": "198.51.100.7"}


def execute(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def audit_rows(resource_id):
    """The audit rows of one resource by action (each action appears once in these tests)."""
    rows = AuditLog.objects.filter(resource_id=resource_id)
    by_action = {row.action: row for row in rows}
    assert len(by_action) == len(rows)
    return by_action


def test_payment_creation_is_audited_with_actor_ip_user_agent_and_values(api_client, api_key):
    response = api_client.post(PAYMENTS_URL, payment_body(), format="json", **CLIENT)
    payment_id = response.json()["id"]

    rows = audit_rows(payment_id)
    assert set(rows) == {"payment.created", "payment.authorize"}
    created, authorized = rows["payment.created"], rows["payment.authorize"]

    for row in (created, authorized):
        assert row.user_id == f"api_key:{api_key.api_key.id}"
        assert row.user_id.startswith("api_key:key_")
        assert row.actor_type == "api_key"
        assert row.resource_type == "payment"
        assert str(row.ip_address) == "198.51.100.7"
        assert row.user_agent == "shop-backend/1.0"
        assert row.request_id == response["X-Request-Id"]
        assert row.result == "success"
    assert created.old_value is None
    assert created.new_value["status"] == "PROCESSING"
    assert created.new_value["amount"] == 1050
    assert authorized.old_value["status"] == "PROCESSING"
    assert authorized.new_value["status"] == "COMPLETED"
    assert authorized.new_value["amount_captured"] == 1050


def test_decline_is_audited_as_a_failure_with_its_error_code(api_client):
    payment_id = create_payment(api_client, "4000000000009995").json()["error"]["payment"]["id"]

    authorize = AuditLog.objects.get(resource_id=payment_id, action="payment.authorize")

    assert authorize.result == "failure"
    assert authorize.new_value["status"] == "FAILED"
    assert authorize.new_value["error_code"] == "insufficient_funds"


def test_capture_is_audited_with_old_and_new_status(api_client):
    payment_id = create_payment(api_client, capture_method="manual").json()["id"]
    api_client.post(
        f"{PAYMENTS_URL}/{payment_id}/capture", {"amount_to_capture": 300}, format="json"
    )

    capture = AuditLog.objects.get(resource_id=payment_id, action="payment.capture")

    assert capture.old_value["status"] == "PROCESSING"
    assert (capture.new_value["status"], capture.new_value["amount_captured"]) == ("COMPLETED", 300)
    assert capture.user_id.startswith("api_key:")


def test_cancel_is_audited(api_client):
    payment_id = create_payment(api_client, capture_method="manual").json()["id"]
    api_client.post(f"{PAYMENTS_URL}/{payment_id}/cancel", {}, format="json")

    cancel = AuditLog.objects.get(resource_id=payment_id, action="payment.cancel")

    assert cancel.new_value["status"] == "CANCELLED"
    assert cancel.result == "success"


def test_customer_and_saved_card_are_audited(api_client):
    customer = api_client.post(
        "/api/v1/customers", {"email": "a@example.com"}, format="json"
    ).json()
    method = api_client.post(
        f"/api/v1/customers/{customer['id']}/payment-methods",
        {"type": "card", "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030}},
        format="json",
    ).json()

    assert AuditLog.objects.filter(resource_id=customer["id"], action="customer.created").exists()
    saved = AuditLog.objects.get(resource_id=method["id"], action="payment_method.created")
    assert saved.new_value == {"customer": customer["id"], "brand": "visa", "last4": "4242"}


def test_api_key_actions_are_audited_with_the_operator_as_actor(merchant):
    with acting_as(cli_context()):
        issued = api_key_issue(merchant=merchant, scopes=["payment:read"])
        api_key_rotate(api_key=issued.api_key, grace=dt.timedelta(hours=1))
        api_key_revoke(api_key=issued.api_key, reason="leaked")

    rows = audit_rows(issued.api_key.id).values()
    assert {row.action for row in rows} == {"api_key.created", "api_key.rotated", "api_key.revoked"}
    assert {row.user_id.split(":")[0] for row in rows} == {"cli"}
    assert {row.actor_type for row in rows} == {"cli"}


def test_audit_record_writes_the_given_context(db):
    context = RequestContext(
        actor_id="user:7", actor_type="user", ip_address="2001:db8::1", user_agent="Firefox"
    )

    audit_record(
        action="payment.refund",
        resource_type="payment",
        resource_id="pay_1",
        old={"amount_refunded": 0},
        new={"amount_refunded": 100},
        result="denied",
        context=context,
    )

    row = AuditLog.objects.get(resource_id="pay_1")
    assert (row.user_id, row.actor_type, row.ip_address) == ("user:7", "user", "2001:db8::1")
    assert (row.user_agent, row.result) == ("Firefox", "denied")
    assert (row.old_value, row.new_value) == ({"amount_refunded": 0}, {"amount_refunded": 100})
    assert row.timestamp is not None


def test_audit_rows_live_in_payment_audit_log(db):
    audit_record(action="test.action", resource_type="test", resource_id="1")

    with connection.cursor() as cursor:
        cursor.execute("SELECT action FROM payment.audit_log WHERE resource_id = '1'")
        assert cursor.fetchall() == [("test.action",)]


def test_audit_row_is_rolled_back_with_its_change(merchant):
    audit_rows_before = AuditLog.objects.count()

    with pytest.raises(RuntimeError), transaction.atomic():
        customer_create(merchant=merchant, email="gone@example.com")
        raise RuntimeError("the surrounding work failed")

    assert not Customer.objects.filter(email="gone@example.com").exists()
    assert AuditLog.objects.count() == audit_rows_before


def test_change_is_rolled_back_when_its_audit_row_cannot_be_written(merchant, monkeypatch):
    def failing_audit_record(**kwargs):
        raise DatabaseError("audit store unavailable")

    monkeypatch.setattr("payments.services.customers.audit_record", failing_audit_record)

    with pytest.raises(DatabaseError):
        customer_create(merchant=merchant, email="unaudited@example.com")

    assert not Customer.objects.filter(email="unaudited@example.com").exists()


@pytest.fixture
def audit_rows_fail_for():
    """A database trigger that makes inserting audit rows of one action fail, whatever code
    path writes them. Committed (transaction=True tests), so it is dropped afterwards."""
    execute(
        """
        CREATE FUNCTION test_fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.action = TG_ARGV[0] THEN RAISE EXCEPTION 'audit write failed'; END IF;
            RETURN NEW;
        END; $$
        """
    )

    def install(action):
        execute(
            "CREATE TRIGGER test_fail_audit BEFORE INSERT ON payment.audit_log FOR EACH ROW "
            f"EXECUTE FUNCTION test_fail_audit('{action}')"
        )

    yield install
    execute("DROP TRIGGER IF EXISTS test_fail_audit ON payment.audit_log")
    execute("DROP FUNCTION test_fail_audit()")


def card():
    return card_input_validate(number="4242424242424242", exp_month=12, exp_year=2030, cvc="")


@pytest.mark.django_db(transaction=True)
def test_payment_is_not_created_without_its_audit_row(merchant, audit_rows_fail_for):
    audit_rows_fail_for("payment.created")

    with pytest.raises(DatabaseError, match="audit write failed"):
        payment_create(merchant=merchant, amount=1000, currency="usd", card=card())

    assert not Payment.objects.exists()
    assert not PaymentMethod.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_gateway_outcome_is_not_recorded_without_its_audit_row(merchant, audit_rows_fail_for):
    audit_rows_fail_for("payment.authorize")

    with pytest.raises(DatabaseError, match="audit write failed"):
        payment_create(merchant=merchant, amount=1000, currency="usd", card=card())

    # Step 1 committed PROCESSING; step 2 (status, ledger row, audit row, event) all rolled back.
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.PROCESSING
    assert payment.pending_operation == "authorize"
    assert not Transaction.objects.exists()
    assert not OutboxEvent.objects.exists()
    assert not AuditLog.objects.filter(action="payment.authorize").exists()


def test_audit_log_rejects_update(merchant):
    row = audit_record(action="test.action", resource_type="test", resource_id="1")

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditLog.objects.filter(pk=row.pk).update(action="tampered")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        execute("UPDATE payment.audit_log SET result = 'success'")

    assert AuditLog.objects.get(pk=row.pk).action == "test.action"


def test_audit_log_rejects_delete(merchant):
    row = audit_record(action="test.action", resource_type="test", resource_id="1")

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditLog.objects.filter(pk=row.pk).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        execute("DELETE FROM payment.audit_log")

    assert AuditLog.objects.filter(pk=row.pk).exists()
