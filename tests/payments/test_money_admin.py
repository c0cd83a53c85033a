"""Back office for money movement: refunds, gateway accounts, circuit breakers, recovery and
reconciliation screens, each allowed only with its permission and audited."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from audit.models import AuditLog
from payments.models import (
    GatewayAccount,
    GatewayBreaker,
    Payment,
    ReconciliationException,
    Refund,
    SandboxOperation,
)
from payments.services.reconciliation import reconcile_day
from payments.services.routing import account_credentials
from tests.conftest import create_payment, operator_login
from tests.payments.test_reconciliation import today

pytestmark = pytest.mark.django_db
PAYMENTS = "/admin/payments/payment/"
SECRET = "sk_test_adminsecret987"


def operator(client, *codenames: str):
    user = get_user_model().objects.create_user(
        "operator", password="a-long-password-123", is_staff=True
    )
    for codename in ("view_payment", *codenames):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    operator_login(client, user)
    return user


def refund_form(payment_ids, **fields):
    return {
        "action": "refund_payments",
        "_selected_action": payment_ids,
        "apply": "1",
        "reason": "requested_by_customer",
        "note": "",
        "amount": "",
        **fields,
    }


def test_an_operator_refunds_part_of_a_payment_with_a_reason(client, api_client):
    paid = create_payment(api_client, amount=10000).json()["id"]
    user = operator(client, "refund_payment")

    confirm = client.post(PAYMENTS, {"action": "refund_payments", "_selected_action": [paid]})
    done = client.post(PAYMENTS, refund_form([paid], amount="25.50", note="Late delivery"))

    assert confirm.status_code == 200 and b"reason" in confirm.content
    assert done.status_code == 302
    refund = Refund.objects.get()
    assert (refund.amount, refund.status, refund.created_by) == (2550, "COMPLETED", "operator")
    assert refund.note == "Late delivery"
    audit = AuditLog.objects.get(action="refund.created")
    assert audit.user_id == f"user:{user.pk}"
    assert Payment.objects.get(pk=paid).amount_refunded == 2550
    detail = client.get(f"{PAYMENTS}{paid}/change/").content.decode()
    assert refund.id in detail


@pytest.mark.parametrize("amount", ["25.001", "abc", "-5", "100.01"])
def test_a_bad_amount_refunds_nothing_and_says_why(client, api_client, amount):
    paid = create_payment(api_client, amount=10000).json()["id"]
    operator(client, "refund_payment")

    response = client.post(PAYMENTS, refund_form([paid], amount=amount), follow=True)

    assert not Refund.objects.exists()
    assert paid.encode() in response.content  # the error names the payment


def test_an_amount_is_refused_for_several_payments_at_once(client, api_client):
    ids = [create_payment(api_client).json()["id"] for _ in range(2)]
    operator(client, "refund_payment")

    client.post(PAYMENTS, refund_form(ids, amount="1.00"))
    client.post(PAYMENTS, refund_form(ids))

    assert sorted(Refund.objects.values_list("amount", flat=True)) == [1050, 1050]


def test_refunding_needs_the_refund_permission(client, api_client):
    paid = create_payment(api_client).json()["id"]
    operator(client)

    page = client.get(PAYMENTS)
    client.post(PAYMENTS, refund_form([paid]))

    assert b"refund_payments" not in page.content
    assert not Refund.objects.exists()


def test_gateway_accounts_take_credentials_write_only(client, merchant):
    operator(client, "configure_gateways", "view_gatewayaccount")
    form = {
        "merchant": merchant.pk,
        "gateway": "stripe",
        "priority": "10",
        "currencies": "USD,EUR",
        "card_brands": "",
        "card_countries": "",
        "api_base": "",
        "enabled": "on",
        "api_key": SECRET,
    }

    created = client.post("/admin/payments/gatewayaccount/add/", form)

    assert created.status_code == 302, created.content.decode()[-3000:]
    account = GatewayAccount.objects.get()
    assert (account.currencies, account.priority) == (["USD", "EUR"], 10)
    assert account_credentials(account) == {"api_key": SECRET}
    page = client.get(f"/admin/payments/gatewayaccount/{account.pk}/change/").content.decode()
    assert SECRET not in page
    assert "api_key" in page  # which credentials are set, not their values
    assert AuditLog.objects.filter(action="gateway_account.saved").exists()


def test_gateway_accounts_are_read_only_without_the_configure_permission(client, merchant):
    operator(client, "view_gatewayaccount")

    assert client.get("/admin/payments/gatewayaccount/add/").status_code == 403


def test_an_operator_forces_a_breaker_open_with_a_reason(client, api_client):
    GatewayBreaker.objects.create(gateway="sandbox")
    operator(client, "configure_gateways", "view_gatewaybreaker")

    client.post(
        "/admin/payments/gatewaybreaker/",
        {
            "action": "breaker_forced_open",
            "_selected_action": ["sandbox"],
            "apply": "1",
            "reason": "Acquirer outage INC-9",
        },
    )

    assert GatewayBreaker.objects.get().override == "forced_open"
    assert create_payment(api_client).status_code == 503
    page = client.get("/admin/payments/gatewaybreaker/").content.decode()
    assert "Acquirer outage INC-9" in page


def test_an_operator_resolves_a_reconciliation_exception(client, api_client):
    paid = create_payment(api_client).json()["id"]
    SandboxOperation.objects.all().delete()
    reconcile_day(today())
    item = ReconciliationException.objects.get()
    operator(client, "resolve_reconciliation", "view_reconciliationexception")

    listing = client.get("/admin/payments/reconciliationexception/", {"open": "yes"})
    client.post(
        "/admin/payments/reconciliationexception/",
        {
            "action": "resolve_exceptions",
            "_selected_action": [item.pk],
            "apply": "1",
            "note": "Sandbox ledger wiped in a test",
        },
    )

    assert paid.encode() in listing.content
    item.refresh_from_db()
    assert (item.resolved_by, item.resolution_note) == (
        "operator",
        "Sandbox ledger wiped in a test",
    )


def test_recovery_and_reconciliation_screens_render(client):
    operator(client, "view_recoverycheck", "view_reconciliationrun")

    assert client.get("/admin/payments/recoverycheck/", {"flagged": "yes"}).status_code == 200
    assert client.get("/admin/payments/reconciliationrun/").status_code == 200


def test_the_payment_page_shows_its_timeline_in_order(client, api_client):
    paid = create_payment(api_client, amount=10000).json()["id"]
    operator(client, "refund_payment")
    client.post(PAYMENTS, refund_form([paid], amount="25.00", note="Late delivery"))

    page = client.get(f"{PAYMENTS}{paid}/change/").content.decode()

    timeline = page[page.index("when (UTC)") :]
    for marker in (
        "payment.created (success)",
        "allow (score 0)",
        "SALE SUCCEEDED 100.00 USD at sandbox",
        "refund.created (success)",
        "25.00 USD requested_by_customer: COMPLETED",
        "REFUND SUCCEEDED 25.00 USD at sandbox",
        "payment.completed: no endpoint",  # the webhook the merchant was (not) sent
    ):
        assert marker in timeline, marker
    # Sorted by time (within one test transaction many rows share a timestamp).
    times = re.findall(r"<tr><td>([0-9: -]{19})</td>", timeline)
    assert times == sorted(times) and len(times) >= 6
    assert ">operator<" in timeline  # who refunded
    assert "4242424242424242" not in page


@pytest.mark.parametrize(
    ("term", "finds"),
    [
        ("by-id", True),
        ("by-reference", True),
        ("shopper@example.com", True),
        ("SHOPPER@example.com", True),
        ("1881", True),  # the card's last 4
        ("25.00", True),
        ("25.01", False),
        ("0000", False),
        ("'; DROP TABLE payments; --", False),
    ],
)
def test_operators_find_payments_by_what_they_know(client, api_client, term, finds):
    body = create_payment(
        api_client, "4012888888881881", amount=2500, receipt_email="shopper@example.com"
    ).json()
    other = create_payment(api_client, amount=999).json()["id"]
    payment = Payment.objects.get(pk=body["id"])
    term = {"by-id": payment.id, "by-reference": payment.gateway_reference}.get(term, term)
    operator(client)

    page = client.get(PAYMENTS, {"q": term}).content.decode()

    assert (payment.id in page) is finds
    assert other not in page


def test_the_filtered_list_exports_as_csv_with_masked_cards_only(client, api_client):
    ids = [create_payment(api_client, amount=1000 + n).json()["id"] for n in range(3)]
    operator(client)

    response = client.post(
        PAYMENTS, {"action": "export_payments_csv", "_selected_action": ids, "select_across": "0"}
    )

    rows = b"".join(response.streaming_content).decode().splitlines()
    assert rows[0].startswith("id,created_at,merchant")
    assert sorted(row.split(",")[0] for row in rows[1:]) == sorted(ids)
    assert "visa •••• 4242" in rows[1]
    assert "4242424242424242" not in "".join(rows)
    assert AuditLog.objects.filter(action="payments.exported").exists()


def test_customers_contact_details_are_masked_on_screen(client, api_client):
    created = api_client.post(
        "/api/v1/customers",
        {"email": "jane.doe@example.com", "name": "Jane Doe", "phone": "+44 20 7946 0958"},
        format="json",
    ).json()
    operator(client, "view_customer")

    listing = client.get("/admin/payments/customer/").content.decode()
    detail = client.get(f"/admin/payments/customer/{created['id']}/change/").content.decode()
    found = client.get("/admin/payments/customer/", {"q": "jane.doe@example.com"}).content.decode()

    for page in (listing, detail):
        assert "jane.doe@example.com" not in page.replace('value="jane.doe@example.com"', "")
        assert "j•••@example.com" in page
        assert "7946 0958" not in page and "•••• 58" in page
    assert created["id"] in found
