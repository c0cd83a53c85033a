"""localstripe signs and sends its own webhooks to our running server; the worker (a real
Celery worker on Redis when REDIS_URL is set, else the eager in-process mode of the demo)
brings the payment whose answer was lost to COMPLETED."""

import time

import pytest
import requests
from django.conf import settings

from payments.gateways.interface import GatewayTimeoutError
from payments.gateways.stripe_gateway import StripeGateway
from payments.models import Payment
from payments.services.gateway_accounts import gateway_account_save
from tests.conftest import create_payment
from tests.workers import start_worker, stop_worker
from webhooks.models import WebhookLog

SECRET = "whsec_localstripe_e2e"


@pytest.fixture
def worker(transactional_db):
    if not settings.REDIS_URL:
        yield None  # eager mode: the webhook view runs the task in-process
        return
    process = start_worker()
    yield process
    stop_worker(process)


@pytest.fixture
def stripe_webhooks_to_us(live_server, localstripe_url, settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    hook = f"{localstripe_url}/_config/webhooks/paydesk-{time.monotonic_ns()}"
    registered = requests.post(
        hook,
        data={
            "url": f"{live_server.url}/webhooks/stripe",
            "secret": SECRET,
            "events[0]": "payment_intent.succeeded",
        },
        timeout=5,
    )
    assert registered.ok, registered.text
    yield
    # localstripe cannot forget a webhook: leave it listening for an event nothing sends.
    requests.post(
        hook,
        data={"url": "http://127.0.0.1:9/", "secret": SECRET, "events[0]": "never.sent"},
        timeout=5,
    )


def wait_for(predicate, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.django_db(transaction=True)
def test_a_lost_stripe_answer_is_settled_by_stripes_webhook_through_the_worker(
    merchant, api_client, localstripe_url, stripe_webhooks_to_us, worker, monkeypatch
):
    gateway_account_save(
        merchant=merchant,
        gateway="stripe",
        credentials={"api_key": "sk_test_e2e"},
        api_base=localstripe_url,
    )
    original = StripeGateway.authorize

    def answer_lost(self, request):
        original(self, request)
        raise GatewayTimeoutError("read timed out")

    monkeypatch.setattr(StripeGateway, "authorize", answer_lost)
    payment_id = create_payment(api_client, amount=1800).json()["id"]
    assert Payment.objects.get(pk=payment_id).status == "PROCESSING"

    assert wait_for(lambda: Payment.objects.get(pk=payment_id).status == "COMPLETED"), list(
        WebhookLog.objects.values_list("event_type", "status", "last_error")
    )
    payment = Payment.objects.get(pk=payment_id)
    assert payment.gateway_reference.startswith("pi_")
    log = WebhookLog.objects.get(event_type="payment_intent.succeeded", status="processed")
    assert log.headers["Stripe-Signature"].startswith("t=")
