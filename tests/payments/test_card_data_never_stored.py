"""PCI: the full card number and the CVC never reach the database, SQL or the logs."""

import io
import logging
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.logging import LINE_FORMAT, ScrubbingFormatter
from payments.models import Customer, Payment
from tests.conftest import PAYMENTS_URL

CVC = "9371"  # 4 digits (valid for amex), chosen to appear nowhere else
PANS = [
    "4242424242424242",
    "5555555555554444",
    "378282246310005",
    "4000000000009995",
    "4000002760003184",
]
CVC_TOKEN = re.compile(rf"(?<![0-9A-Za-z]){CVC}(?![0-9A-Za-z])")


def card(number: str) -> dict:
    return {
        "type": "card",
        "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": CVC},
    }


def pay(client, key: str, **body):
    return client.post(
        PAYMENTS_URL,
        {"amount": 2500, "currency": "eur", **body},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def run_card_traffic(client) -> None:
    """Every path a card number travels: raw-card payments (approved, declined, 3-D Secure,
    manual capture + capture, cancel), a refused request, a saved card and a payment with it."""
    for index, number in enumerate(PANS):
        response = pay(client, f"raw-{index}", payment_method_data=card(number))
        assert response.status_code in (201, 402)
    manual = pay(
        client, "manual", payment_method_data=card("4242424242424242"), capture_method="manual"
    )
    client.post(f"{PAYMENTS_URL}/{manual.json()['id']}/capture", {}, format="json")
    voided = pay(
        client, "void", payment_method_data=card("5555555555554444"), capture_method="manual"
    )
    client.post(f"{PAYMENTS_URL}/{voided.json()['id']}/cancel", {}, format="json")
    refused = card("4242424242424242")
    refused["card"]["exp_month"] = 13
    assert pay(client, "refused", payment_method_data=refused).status_code == 400
    customer = client.post("/api/v1/customers", {"email": "pan@example.com"}, format="json").json()
    method = client.post(
        f"/api/v1/customers/{customer['id']}/payment-methods",
        card("378282246310005"),
        format="json",
    ).json()
    saved = pay(client, "saved", payment_method=method["id"], customer=customer["id"])
    assert saved.status_code == 201


def payment_schema_dump() -> str:
    """Every row of every table in schema `payment`, as JSON text (bytea shows as hex)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'payment' AND table_type = 'BASE TABLE'"
        )
        tables = [row[0] for row in cursor.fetchall()]
        dump = []
        for table in tables:
            cursor.execute(f'SELECT row_to_json(t)::text FROM payment."{table}" t')  # noqa: S608
            dump += [row[0] for row in cursor.fetchall()]
    assert len(tables) > 10 and dump
    return "\n".join(dump)


@pytest.fixture
def scrubbed_log():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(ScrubbingFormatter(LINE_FORMAT))
    logging.getLogger().addHandler(handler)
    yield stream
    logging.getLogger().removeHandler(handler)


def test_card_numbers_and_cvc_never_reach_the_database_sql_or_logs(
    api_client, caplog, scrubbed_log
):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")

    with CaptureQueriesContext(connection) as queries:
        run_card_traffic(api_client)

    dump = payment_schema_dump()
    sql = "\n".join(query["sql"] for query in queries.captured_queries)
    raw_log = "\n".join([record.getMessage() for record in caplog.records] + [caplog.text])
    assert "INSERT INTO" in sql
    assert dump.count('"vault_ciphertext":"\\\\x') >= len(PANS)  # the cards are in the vault
    assert "Payment " in raw_log
    for name, text in {
        "database": dump,
        "sql": sql,
        "log": raw_log,
        "scrubbed log": scrubbed_log.getvalue(),
    }.items():
        for pan in PANS:
            assert pan not in text, f"card number {pan} found in the {name}"
            assert pan.encode().hex() not in text, f"hex of card number {pan} found in the {name}"
        assert not CVC_TOKEN.search(text), f"CVC found in the {name}"
        assert CVC.encode().hex() not in text, f"hex of the CVC found in the {name}"


def test_last4_and_fingerprint_are_stored_for_display(api_client):
    run_card_traffic(api_client)

    dump = payment_schema_dump()

    assert '"card_last4":"4242"' in dump
    assert '"card_last4":"0005"' in dump
    assert '"card_bin":"378282"' in dump


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("description", "Order for card 4242 4242 4242 4242"),
        ("description", "5555-5555-5555-4444"),
        ("metadata", {"note": "card 378282246310005"}),
        ("metadata", {"4242424242424242": "x"}),
    ],
)
def test_a_card_number_in_free_text_is_refused(api_client, field, value):
    """Free text is stored, shown in the back office and sent in webhooks as it is: a card
    number pasted into it would be a PAN in plaintext."""
    response = pay(
        api_client,
        f"free-text-{field}",
        payment_method_data=card("4242424242424242"),
        **{field: value},
    )

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("parameter_invalid", field)
    assert not re.search(r"\d{4}", error["message"])
    assert not Payment.objects.exists()


def test_digits_that_are_not_a_card_number_are_fine_in_free_text(api_client):
    response = pay(
        api_client,
        "free-text-fine",
        payment_method_data=card("4242424242424242"),
        description="Order 4242424242424241, invoice 2026-11-26",  # fails the Luhn check
        metadata={"order": "1234567890123"},
    )

    assert response.status_code == 201, response.content


def test_a_card_number_in_a_customers_name_is_refused(api_client):
    response = api_client.post("/api/v1/customers", {"name": "4000 0000 0000 9995"}, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["error"]["param"] == "name"
    assert not Customer.objects.exists()
