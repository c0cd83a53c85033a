"""The payments list never counts a whole big table: exact up to a bound, then an estimate."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit import pagination
from audit.pagination import BoundedCountPaginator
from payments.models import Payment
from tests.payments.factories import PaymentFactory

pytestmark = pytest.mark.django_db


def test_small_lists_are_counted_exactly():
    PaymentFactory.create_batch(3)

    assert BoundedCountPaginator(Payment.objects.all(), 100).count == 3


def test_past_the_bound_filtered_lists_say_the_bound_and_whole_tables_the_estimate(monkeypatch):
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 2)
    monkeypatch.setattr(pagination, "_table_estimate", lambda table: 1_234_567)
    PaymentFactory.create_batch(4, currency="EUR")

    with CaptureQueriesContext(connection) as queries:
        filtered = BoundedCountPaginator(Payment.objects.filter(currency="EUR"), 100).count
    whole = BoundedCountPaginator(Payment.objects.all(), 100).count

    assert (filtered, whole) == (2, 1_234_567)
    assert "LIMIT 3" in queries.captured_queries[0]["sql"]


def test_the_admin_list_uses_it(admin_client):
    PaymentFactory.create_batch(2)

    page = admin_client.get("/admin/payments/payment/")

    assert page.status_code == 200
    assert isinstance(page.context["cl"].paginator, BoundedCountPaginator)
