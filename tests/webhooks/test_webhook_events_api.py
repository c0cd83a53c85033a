"""GET /api/v1/events lists what is (or was) sent to a merchant's endpoints."""

from payments.models import ApiKeyScope
from payments.services.api_keys import api_key_issue
from tests.conftest import client_for
from tests.webhooks.helpers import publish

EVENTS_URL = "/api/v1/events"


def test_events_are_listed_newest_first_by_type_with_a_cursor(api_client, merchant, other_merchant):
    completed = publish(merchant, "payment.completed")
    refunded = publish(merchant, "refund.completed")
    failed = publish(merchant, "payment.failed")
    publish(other_merchant, "payment.completed")
    live = publish(merchant, "payment.completed", livemode=True)

    listed = api_client.get(EVENTS_URL).json()
    by_type = api_client.get(EVENTS_URL, {"type": "refund.completed"}).json()
    first_page = api_client.get(EVENTS_URL, {"limit": 1}).json()
    next_page = api_client.get(EVENTS_URL, {"limit": 5, "starting_after": failed.id}).json()

    assert [event["id"] for event in listed["data"]] == [failed.id, refunded.id, completed.id]
    assert listed["data"][0] == {
        "id": failed.id,
        "object": "event",
        "type": "payment.failed",
        "created": int(failed.created_at.timestamp()),
        "livemode": False,
        "data": failed.data,
    }
    assert [event["id"] for event in by_type["data"]] == [refunded.id]
    assert first_page["has_more"] is True
    assert [event["id"] for event in next_page["data"]] == [refunded.id, completed.id]
    assert api_client.get(f"{EVENTS_URL}/{live.id}").status_code == 404
    live_client = client_for(
        api_key_issue(merchant=merchant, scopes=ApiKeyScope.values, mode="live").secret
    )
    assert [event["id"] for event in live_client.get(EVENTS_URL).json()["data"]] == [live.id]


def test_another_merchants_event_is_not_found(api_client, other_merchant):
    theirs = publish(other_merchant)

    response = api_client.get(f"{EVENTS_URL}/{theirs.id}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "resource_missing"


def test_unknown_event_list_parameters_are_refused(api_client):
    response = api_client.get(EVENTS_URL, {"kind": "payment.completed"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parameter_unknown"
