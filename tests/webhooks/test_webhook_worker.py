"""End to end: a real Celery worker on Redis relays a payment's outbox event and delivers it,
signed, to the merchant's endpoint. Needs REDIS_URL (CI sets it): without a broker there is
no worker, and the test says so as a skip rather than passing."""

import time

import pytest
from django.conf import settings
from standardwebhooks import Webhook

from tests.conftest import create_payment
from tests.workers import start_worker, stop_worker
from webhooks.models import WebhookDelivery
from webhooks.outbound.tasks import outbox_relay_task

pytestmark = [
    pytest.mark.requires_redis,
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL and a Celery worker"),
]


@pytest.fixture
def worker(transactional_db, monkeypatch):
    monkeypatch.setenv("WEBHOOK_ALLOW_LOOPBACK", "true")  # the receiver is on 127.0.0.1
    process = start_worker()
    yield process
    stop_worker(process)


def test_a_worker_relays_and_delivers_a_signed_payment_event(worker, api_client, receiver):
    endpoint = api_client.post(
        "/api/v1/webhook-endpoints",
        {"url": receiver.url(), "enabled_events": ["payment.completed"]},
        format="json",
    ).json()
    payment = create_payment(api_client).json()

    outbox_relay_task.delay()  # what beat does every 5 seconds

    (request,) = receiver.wait_for(1, timeout=60)
    payload = Webhook(endpoint["secret"]).verify(request.body, request.headers)
    assert payload["type"] == "payment.completed"
    assert payload["data"]["id"] == payment["id"]
    deadline = time.monotonic() + 30
    while WebhookDelivery.objects.get().status != "succeeded" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert WebhookDelivery.objects.get().status == "succeeded"
