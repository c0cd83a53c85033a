import datetime as dt

import pytest
from django.utils import timezone

from payments.models import Payment
from tests.conftest import PAYMENTS_URL
from tests.payments.factories import CustomerFactory, PaymentFactory

NOW = timezone.now().replace(microsecond=0)


def list_payments(client, **params):
    response = client.get(PAYMENTS_URL, params)
    assert response.status_code == 200, response.content
    return response.json()


def ids(page):
    return [payment["id"] for payment in page["data"]]


@pytest.fixture
def thirty_payments(merchant):
    """30 payments in list order (newest first); they share created_at in threes, so the id
    tie-break matters. The order of equal timestamps is the database's (its collation)."""
    for index in range(30):
        PaymentFactory(merchant=merchant, created_at=NOW - dt.timedelta(minutes=index // 3))
    return list(Payment.objects.filter(merchant=merchant).order_by("-created_at", "-id"))


def test_list_has_the_list_envelope(api_client, merchant):
    PaymentFactory(merchant=merchant)

    page = list_payments(api_client)

    assert set(page) == {"object", "data", "has_more", "url"}
    assert (page["object"], page["has_more"], page["url"]) == ("list", False, PAYMENTS_URL)
    assert page["data"][0]["object"] == "payment"


def test_list_is_newest_first_with_a_default_limit_of_10(api_client, thirty_payments):
    page = list_payments(api_client)

    assert ids(page) == [payment.id for payment in thirty_payments[:10]]
    assert page["has_more"] is True


def test_starting_after_walks_every_page_without_duplicates_or_gaps(api_client, thirty_payments):
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 7, **({"starting_after": cursor} if cursor else {})}
        page = list_payments(api_client, **params)
        seen += ids(page)
        pages += 1
        if not page["has_more"]:
            break
        cursor = page["data"][-1]["id"]

    assert seen == [payment.id for payment in thirty_payments]
    assert pages == 5


def test_ending_before_walks_back_to_the_first_page(api_client, thirty_payments):
    oldest = thirty_payments[-1].id
    seen, cursor = [], oldest
    while True:
        page = list_payments(api_client, limit=7, ending_before=cursor)
        seen = ids(page) + seen
        if not page["has_more"]:
            break
        cursor = page["data"][0]["id"]

    assert seen == [payment.id for payment in thirty_payments[:-1]]


def test_starting_after_and_ending_before_together_are_refused(api_client, thirty_payments):
    response = api_client.get(
        PAYMENTS_URL,
        {"starting_after": thirty_payments[0].id, "ending_before": thirty_payments[5].id},
    )

    assert response.status_code == 400


@pytest.mark.parametrize("limit", ["0", "101", "-3", "ten", "2.5"])
def test_bad_limit_is_400(api_client, merchant, limit):
    response = api_client.get(PAYMENTS_URL, {"limit": limit})

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "limit"


def test_limit_of_100_is_allowed(api_client, thirty_payments):
    page = list_payments(api_client, limit=100)

    assert len(page["data"]) == 30
    assert page["has_more"] is False


def test_list_shows_only_the_merchants_own_payments(api_client, merchant, other_merchant):
    ours = PaymentFactory(merchant=merchant)
    PaymentFactory(merchant=other_merchant)

    assert ids(list_payments(api_client)) == [ours.id]


def test_other_merchants_payment_cannot_be_a_cursor(api_client, merchant, other_merchant):
    PaymentFactory(merchant=merchant)
    theirs = PaymentFactory(merchant=other_merchant)

    response = api_client.get(PAYMENTS_URL, {"starting_after": theirs.id})

    assert response.status_code == 404


@pytest.mark.parametrize("status", ["failed", "FAILED", "Failed"])
def test_status_filter_is_case_insensitive(api_client, merchant, status):
    failed = PaymentFactory(merchant=merchant, status="FAILED", error_code="card_declined")
    PaymentFactory(merchant=merchant, status="COMPLETED")

    assert ids(list_payments(api_client, status=status)) == [failed.id]


def test_customer_filter(api_client, merchant):
    customer = CustomerFactory(merchant=merchant)
    theirs = PaymentFactory(merchant=merchant, customer=customer)
    PaymentFactory(merchant=merchant)

    assert ids(list_payments(api_client, customer=customer.id)) == [theirs.id]


def test_created_range_filter_is_inclusive(api_client, merchant):
    old = PaymentFactory(merchant=merchant, created_at=NOW - dt.timedelta(days=10))
    middle = PaymentFactory(merchant=merchant, created_at=NOW - dt.timedelta(days=5))
    new = PaymentFactory(merchant=merchant, created_at=NOW)

    def stamp(moment):
        return int(moment.timestamp())

    assert ids(list_payments(api_client, **{"created[gte]": stamp(middle.created_at)})) == [
        new.id,
        middle.id,
    ]
    assert ids(list_payments(api_client, **{"created[lte]": stamp(middle.created_at)})) == [
        middle.id,
        old.id,
    ]
    only_middle = {
        "created[gte]": stamp(NOW - dt.timedelta(days=6)),
        "created[lte]": stamp(NOW - dt.timedelta(days=4)),
    }
    assert ids(list_payments(api_client, **only_middle)) == [middle.id]


def test_created_lte_takes_in_the_whole_second_the_api_shows(api_client, merchant):
    """`created` is shown in whole seconds: a payment created at 12:00:00.7 shows the second
    of 12:00:00, and `created[gte]=created[lte]=` that second finds it."""
    inside = PaymentFactory(merchant=merchant, created_at=NOW + dt.timedelta(milliseconds=700))
    PaymentFactory(merchant=merchant, created_at=NOW + dt.timedelta(seconds=1))
    shown = list_payments(api_client)["data"][1]["created"]
    assert shown == int(NOW.timestamp())

    assert ids(list_payments(api_client, **{"created[gte]": shown, "created[lte]": shown})) == [
        inside.id
    ]


def test_a_cursor_that_left_the_filter_still_marks_the_next_page(api_client, merchant):
    """Listing AUTHORIZED payments page by page while one of them is captured: the captured
    one, the cursor of the next page, no longer matches the filter but keeps its place."""
    authorized = [
        PaymentFactory(
            merchant=merchant, status="AUTHORIZED", created_at=NOW - dt.timedelta(minutes=index)
        )
        for index in range(4)
    ]
    first = list_payments(api_client, status="AUTHORIZED", limit=2)
    assert ids(first) == [authorized[0].id, authorized[1].id]
    Payment.objects.filter(pk=authorized[1].id).update(status="COMPLETED")

    second = list_payments(api_client, status="AUTHORIZED", limit=2, starting_after=ids(first)[-1])

    assert ids(second) == [authorized[2].id, authorized[3].id]
    back = list_payments(api_client, status="AUTHORIZED", ending_before=authorized[1].id)
    assert ids(back) == [authorized[0].id]


def test_filters_combine_with_pagination(api_client, merchant):
    customer = CustomerFactory(merchant=merchant)
    mine = [PaymentFactory(merchant=merchant, customer=customer, status="FAILED") for _ in range(5)]
    PaymentFactory(merchant=merchant, customer=customer, status="COMPLETED")
    PaymentFactory(merchant=merchant, status="FAILED")

    first = list_payments(api_client, customer=customer.id, status="failed", limit=3)
    second = list_payments(
        api_client, customer=customer.id, status="failed", limit=3, starting_after=ids(first)[-1]
    )

    assert first["has_more"] is True and second["has_more"] is False
    assert sorted(ids(first) + ids(second)) == sorted(payment.id for payment in mine)


def test_retrieve_returns_the_payment(api_client, merchant):
    payment = PaymentFactory(merchant=merchant, amount=4200, currency="EUR")

    response = api_client.get(f"{PAYMENTS_URL}/{payment.id}")

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["amount"], body["currency"], body["status"]) == (
        payment.id,
        4200,
        "EUR",
        "COMPLETED",
    )
    assert body["created"] == int(payment.created_at.timestamp())
