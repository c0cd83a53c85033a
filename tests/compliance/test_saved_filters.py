"""Operators save a list's filter under a name and find it on the list again; each sees only
their own."""

import pytest
from django.test import Client

from compliance.models import SavedFilter
from compliance.operators import operator_create
from tests.conftest import operator_login

pytestmark = pytest.mark.django_db
PAYMENTS = "/admin/payments/payment/"


def signed_in(username: str) -> Client:
    created = operator_create(
        username=username,
        email=f"{username}@example.com",
        role="payment-viewer",
        password="filters-pass-2024",
    )
    client = Client()
    operator_login(client, created.user)
    return client


def test_a_saved_filter_appears_on_the_list_for_its_owner_only():
    olga, otto = signed_in("olga"), signed_in("otto")

    saved = olga.post(
        "/admin/saved-filters/",
        {
            "path": PAYMENTS,
            "query": "status__exact=FAILED&currency__exact=EUR",
            "name": "EUR failures",
        },
    )

    assert saved.status_code == 302
    assert saved["Location"] == f"{PAYMENTS}?status__exact=FAILED&currency__exact=EUR"
    assert "EUR failures" in olga.get(PAYMENTS).content.decode()
    assert "EUR failures" not in otto.get(PAYMENTS).content.decode()
    assert otto.get("/admin/compliance/savedfilter/").content.decode().count("EUR failures") == 0


def test_a_filter_needs_a_name_and_stays_inside_the_back_office():
    olga = signed_in("olga")

    unnamed = olga.post("/admin/saved-filters/", {"path": PAYMENTS, "query": "", "name": " "})
    elsewhere = olga.post(
        "/admin/saved-filters/", {"path": "https://evil.example/admin/", "query": "", "name": "x"}
    )

    assert unnamed["Location"] == PAYMENTS
    assert elsewhere["Location"] == "/admin/"  # only the path is kept: never another site
    assert not SavedFilter.objects.filter(name=" ").exists()
