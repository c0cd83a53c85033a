"""Merchants manage webhook endpoints through the API; the signing secret is shown once."""

import base64
import datetime as dt
import json

import pytest
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from audit.models import AuditLog
from config.keys import secret_open
from payments.models import ApiKeyScope
from payments.services.api_keys import api_key_issue
from tests.conftest import client_for
from tests.webhooks.helpers import attempt_at, endpoint_for, publish
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.outbound.endpoints import endpoint_secret_roll
from webhooks.outbound.relay import outbox_relay

ENDPOINTS_URL = "/api/v1/webhook-endpoints"


def create(client, url: str, **fields):
    body = {"url": url, "enabled_events": ["payment.completed"], **fields}
    return client.post(ENDPOINTS_URL, body, format="json")


@pytest.fixture
def live_client(merchant):
    return client_for(
        api_key_issue(merchant=merchant, scopes=ApiKeyScope.values, mode="live").secret
    )


def test_creating_an_endpoint_shows_the_secret_once_and_stores_it_only_sealed(api_client, receiver):
    response = create(api_client, receiver.url(), description="orders")

    assert response.status_code == 201
    created = response.json()
    secret = created.pop("secret")
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    assert created["object"] == "webhook_endpoint"
    assert created["enabled_events"] == ["payment.completed"]
    assert created["status"] == "enabled"
    assert created["livemode"] is False
    assert "secret" not in api_client.get(f"{ENDPOINTS_URL}/{created['id']}").json()
    assert all("secret" not in item for item in api_client.get(ENDPOINTS_URL).json()["data"])
    row = WebhookEndpoint.objects.get(pk=created["id"])
    assert secret.encode() not in bytes(row.secret_sealed)
    assert (
        secret_open(bytes(row.secret_sealed), version=row.secret_key_version, associated=row.id)
        == secret.encode()
    )
    audit = AuditLog.objects.filter(resource_id=row.id)
    assert audit.filter(action="webhook_endpoint.created").exists()
    assert secret not in json.dumps([entry.new_value for entry in audit])


def test_endpoints_are_listed_updated_and_deleted_within_one_merchant_and_mode(
    api_client, other_api_client, live_client, receiver
):
    first = create(api_client, receiver.url(path="/one")).json()
    second = create(api_client, receiver.url(path="/two")).json()

    listed = api_client.get(ENDPOINTS_URL).json()
    updated = api_client.post(
        f"{ENDPOINTS_URL}/{first['id']}",
        {"url": receiver.url(path="/new"), "enabled_events": ["*"], "description": "all"},
        format="json",
    )
    deleted = api_client.delete(f"{ENDPOINTS_URL}/{second['id']}")

    assert [item["id"] for item in listed["data"]] == [second["id"], first["id"]]
    assert updated.status_code == 200
    assert updated.json()["url"].endswith("/new")
    assert updated.json()["enabled_events"] == ["*"]
    assert deleted.json() == {"id": second["id"], "object": "webhook_endpoint", "deleted": True}
    assert api_client.get(f"{ENDPOINTS_URL}/{second['id']}").status_code == 404
    assert [item["id"] for item in api_client.get(ENDPOINTS_URL).json()["data"]] == [first["id"]]
    assert other_api_client.get(f"{ENDPOINTS_URL}/{first['id']}").status_code == 404
    assert other_api_client.delete(f"{ENDPOINTS_URL}/{first['id']}").status_code == 404
    assert live_client.get(ENDPOINTS_URL).json()["data"] == []
    assert live_client.get(f"{ENDPOINTS_URL}/{first['id']}").status_code == 404
    live = create(live_client, receiver.url()).json()
    assert live["livemode"] is True
    assert api_client.get(f"{ENDPOINTS_URL}/{live['id']}").status_code == 404


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"enabled_events": []}, "enabled_events"),
        ({"enabled_events": ["Payment Completed"]}, "enabled_events"),
        ({"enabled_events": "payment.completed"}, "enabled_events"),
        ({"url": "not a url"}, "url"),
        ({"url": "https://user:pw@example.com/hooks"}, "url"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_endpoint_settings_are_refused_in_the_error_envelope(
    api_client, receiver, body, param
):
    response = create(api_client, **({"url": receiver.url()} | body))

    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
    assert not WebhookEndpoint.objects.exists()


def test_the_disabled_flag_must_be_a_json_boolean(api_client, receiver):
    endpoint = create(api_client, receiver.url()).json()

    response = api_client.post(
        f"{ENDPOINTS_URL}/{endpoint['id']}", {"disabled": "true"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "disabled"


def test_managing_endpoints_needs_the_webhook_manage_scope(merchant, receiver):
    read_only = client_for(api_key_issue(merchant=merchant, scopes=["payment:read"]).secret)

    assert create(read_only, receiver.url()).status_code == 403
    assert read_only.get(ENDPOINTS_URL).status_code == 403
    assert read_only.get("/api/v1/events").status_code == 403


def test_requests_that_reveal_a_secret_refuse_an_idempotency_key_instead_of_storing_it(
    api_client, receiver
):
    body = {"url": receiver.url(), "enabled_events": ["*"]}

    refused = api_client.post(ENDPOINTS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    endpoint = api_client.post(ENDPOINTS_URL, body, format="json").json()
    roll = api_client.post(
        f"{ENDPOINTS_URL}/{endpoint['id']}/roll-secret", HTTP_IDEMPOTENCY_KEY="k-2"
    )

    assert refused.status_code == roll.status_code == 400
    assert refused.json()["error"]["type"] == "idempotency_error"
    assert WebhookEndpoint.objects.count() == 1


def test_a_rolled_secret_signs_beside_the_new_one_for_24_hours(api_client, merchant, receiver):
    endpoint = create(api_client, receiver.url(), enabled_events=["*"]).json()
    old_secret = endpoint["secret"]

    rolled = api_client.post(f"{ENDPOINTS_URL}/{endpoint['id']}/roll-secret")
    event = publish(merchant)
    now = timezone.now()
    outbox_relay(now=now)
    attempt_at(WebhookDelivery.objects.get(event=event), now)

    new_secret = rolled.json()["secret"]
    assert rolled.status_code == 200
    assert new_secret.startswith("whsec_") and new_secret != old_secret
    (request,) = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old_secret).verify(request.body, request.headers)["id"] == event.id
    assert Webhook(new_secret).verify(request.body, request.headers)["id"] == event.id
    assert AuditLog.objects.filter(
        action="webhook_endpoint.secret_rolled", resource_id=endpoint["id"]
    ).exists()


def test_after_24_hours_only_the_new_secret_signs(merchant, receiver):
    created = endpoint_for(merchant, receiver.url())
    now = timezone.now()
    rolled = endpoint_secret_roll(
        merchant_id=merchant.id,
        livemode=False,
        endpoint_id=created.endpoint.id,
        now=now - dt.timedelta(hours=24, seconds=1),
    )
    event = publish(merchant)
    outbox_relay(now=now)

    attempt_at(WebhookDelivery.objects.get(event=event), now)

    (request,) = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    assert Webhook(rolled.secret).verify(request.body, request.headers)["id"] == event.id
    with pytest.raises(WebhookVerificationError):
        Webhook(created.secret).verify(request.body, request.headers)
