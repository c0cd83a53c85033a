"""An operator limited to some merchants (django-guardian object permissions) sees and
touches nothing else: lists, detail pages, search, actions, exports, the dashboard; screens
of global data are closed to them."""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client

from audit.scoping import operator_merchant_ids
from compliance.operators import operator_create
from payments.models import Refund
from tests.conftest import create_payment, operator_login

pytestmark = pytest.mark.django_db
PAYMENTS = "/admin/payments/payment/"


@pytest.fixture
def two_merchants(api_client, other_api_client):
    cache.clear()  # the dashboard's cached numbers
    mine = create_payment(api_client, amount=1111).json()["id"]
    theirs = create_payment(other_api_client, amount=2222).json()["id"]
    return mine, theirs


def limited_operator(merchant, role: str = "payment-admin") -> Client:
    created = operator_create(
        username="limited",
        email="l@example.com",
        role=role,
        password="limited-pass-2024",
        merchants=[merchant],
    )
    client = Client()
    operator_login(client, created.user)
    return client


def test_lists_detail_and_search_show_only_their_merchants(merchant, two_merchants):
    mine, theirs = two_merchants
    client = limited_operator(merchant)

    listing = client.get(PAYMENTS).content.decode()
    searched = client.get(PAYMENTS, {"q": theirs}).content.decode()
    detail = client.get(f"{PAYMENTS}{theirs}/change/")

    assert mine in listing and theirs not in listing
    assert "0 results" in searched  # the search box still shows what was typed
    assert detail.status_code == 302  # "does not exist", back to the list
    assert client.get(f"{PAYMENTS}{mine}/change/").status_code == 200
    assert "globex" not in client.get("/admin/payments/merchant/").content.decode()


def test_actions_and_exports_never_reach_other_merchants(merchant, two_merchants):
    mine, theirs = two_merchants
    client = limited_operator(merchant)

    client.post(
        PAYMENTS,
        {
            "action": "refund_payments",
            "_selected_action": [mine, theirs],
            "apply": "1",
            "reason": "duplicate",
            "amount": "",
            "note": "",
        },
    )
    export = client.post(PAYMENTS, {"action": "export_payments_csv", "_selected_action": [theirs]})

    assert list(Refund.objects.values_list("payment_id", flat=True)) == [mine]
    assert theirs not in b"".join(getattr(export, "streaming_content", [b""])).decode()


def test_global_screens_are_closed_and_the_dashboard_counts_only_theirs(merchant, two_merchants):
    client = limited_operator(merchant)

    for url in ("/admin/audit/auditlog/", "/admin/fraud/fraudrule/", "/admin/webhooks/webhooklog/"):
        assert client.get(url).status_code == 403, url
    home = client.get("/admin/").content.decode()
    assert "<th>Payments</th><td>1</td>" in home
    assert "queue depth" not in home


def test_operators_without_merchant_grants_see_everything(two_merchants):
    mine, theirs = two_merchants
    created = operator_create(
        username="everyone", email="e@example.com", role="payment-viewer", password="all-pass-2024"
    )
    client = Client()
    operator_login(client, created.user)

    listing = client.get(PAYMENTS).content.decode()

    assert mine in listing and theirs in listing


def test_create_operator_limits_by_merchant_slug(merchant, capsys):
    call_command(
        "create_operator",
        "--username",
        "scoped",
        "--email",
        "s@example.com",
        "--role",
        "payment-viewer",
        "--merchant",
        merchant.slug,
    )

    assert operator_merchant_ids(get_user_model().objects.get(username="scoped")) == {merchant.id}


def test_forms_offer_only_their_merchants(merchant, other_merchant):
    client = limited_operator(merchant)

    generate = client.post(
        "/admin/payments/apikey/generate/",
        {"merchant": other_merchant.pk, "mode": "test", "scopes": ["payment:read"]},
    )
    account = client.get("/admin/payments/gatewayaccount/add/").content.decode()

    assert b"Select a valid choice" in generate.content
    assert other_merchant.name not in account and merchant.name in account
