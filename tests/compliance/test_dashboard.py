"""The back office's home page: the runbook's numbers, with its alert thresholds."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.utils import timezone

from payments.dashboard import dashboard
from tests.conftest import create_payment, operator_login

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh():
    for window in ("hour", "day", "week"):
        cache.delete(f"dashboard:{window}")


def test_the_numbers_of_the_window(api_client):
    for _ in range(3):
        create_payment(api_client)
    create_payment(api_client, "4000000000000002")  # declined
    api_client.post(
        f"/api/v1/payments/{create_payment(api_client).json()['id']}/refunds",
        {"reason": "duplicate"},
        format="json",
    )

    board = dashboard("hour")

    assert board.payments == 5
    assert board.success_rate == pytest.approx(4 / 5)
    assert board.by_gateway == [("sandbox", 5)]
    assert board.gateway_calls == 6  # 5 authorizations and a refund
    assert board.latency_p99_ms is not None
    assert board.refunds == [("COMPLETED", 1)]
    assert board.alerts == ["success rate 80.0% is below 90 %"]
    assert [bar["label"] for bar in board.bars][-1].endswith("80.0%")
    charts = {chart["title"]: chart["bars"] for chart in board.charts}
    assert [(bar["label"], bar["count"], bar["width"]) for bar in charts["Volume by gateway"]] == [
        ("sandbox", 5, 300)
    ]
    assert [bar["label"] for bar in charts["Refunds"]] == ["COMPLETED"]


def test_an_hour_ago_is_outside_the_hour(api_client):
    create_payment(api_client)

    later = dashboard("hour", now=timezone.now() + dt.timedelta(hours=2))

    assert (later.payments, later.success_rate, later.alerts) == (0, None, [])


def test_the_home_page_shows_it_to_operators(client, api_client):
    create_payment(api_client)
    user = get_user_model().objects.create_user("dash", password="x" * 12, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_payment"))
    operator_login(client, user)

    page = client.get("/admin/", {"window": "week"}).content.decode()

    assert "Success rate" in page and "last week" in page
    assert "<svg" in page and "sandbox: 1" in page
    assert 'aria-label="Volume by gateway"' in page
