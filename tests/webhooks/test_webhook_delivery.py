"""Deliveries are signed per Standard Webhooks, retried on its schedule (jittered, after any
Retry-After), dead-lettered after the last attempt, and sent at least once but never again
once recorded as succeeded. Time is injected: nothing here sleeps through a backoff."""

import datetime as dt
import email.utils
import socket

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from audit.models import AuditLog
from tests.concurrency import run_concurrently
from tests.webhooks.helpers import attempt_at, endpoint_for, publish
from tests.webhooks.receiver import Answer
from webhooks.models import OutboxEvent, WebhookAttempt, WebhookDelivery
from webhooks.outbound import delivery as delivery_module
from webhooks.outbound.delivery import deliveries_due, delivery_attempt, lease_duration
from webhooks.outbound.relay import outbox_relay
from webhooks.outbound.schedule import MAX_ATTEMPTS, RETRY_SCHEDULE, retry_delay


def delivery_to(merchant, url: str, now: dt.datetime, **kwargs) -> WebhookDelivery:
    endpoint_for(merchant, url, **kwargs)
    event = publish(merchant)
    outbox_relay(now=now)
    return WebhookDelivery.objects.get(event=event)


def assert_waits(delivery: WebhookDelivery, now: dt.datetime, expected: dt.timedelta) -> None:
    waited = delivery.next_attempt_at - now
    assert expected * 0.9 <= waited <= expected * 1.1, (waited, expected)


def test_a_delivery_is_signed_per_standard_webhooks_and_recorded(merchant, receiver):
    created = endpoint_for(merchant, receiver.url())
    event = publish(merchant, "payment.completed")
    now = timezone.now()
    outbox_relay(now=now)
    delivery = WebhookDelivery.objects.get(event=event)

    attempt = attempt_at(delivery, now)

    (request,) = receiver.requests
    payload = Webhook(created.secret).verify(request.body, request.headers)
    assert payload == {
        "id": event.id,
        "type": "payment.completed",
        "created": int(event.created_at.timestamp()),
        "livemode": False,
        "data": event.data,
    }
    assert request.headers["webhook-id"] == event.id
    assert request.headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert request.headers["Content-Type"] == "application/json"
    assert request.path == "/hooks"
    assert (delivery.status, delivery.attempt_count, delivery.last_response_status) == (
        "succeeded",
        1,
        200,
    )
    assert delivery.next_attempt_at is None
    assert attempt.succeeded and attempt.response_status == 200
    assert attempt.request_body == request.body
    assert attempt.request_headers["webhook-signature"] == request.headers["webhook-signature"]
    assert attempt.response_body_excerpt == "ok"
    assert attempt.latency_ms is not None


def test_a_delivery_recorded_as_succeeded_is_never_sent_again(merchant, receiver):
    now = timezone.now()
    delivery = delivery_to(merchant, receiver.url(), now)
    attempt_at(delivery, now)

    again = attempt_at(delivery, now + dt.timedelta(days=2))

    assert again is None
    assert len(receiver.requests) == 1
    assert delivery.status == "succeeded"


def test_server_errors_follow_the_retry_schedule_then_the_delivery_is_dead_lettered(
    merchant, receiver
):
    receiver.answer(Answer(status=500, body="x" * 5000))
    now = timezone.now()
    delivery = delivery_to(merchant, receiver.url(), now)

    for number in range(1, MAX_ATTEMPTS + 1):
        attempt = attempt_at(delivery, now)
        assert (attempt.number, attempt.response_status, attempt.error_kind) == (
            number,
            500,
            "http_status",
        )
        assert len(attempt.response_body_excerpt) == 2048
        if number == MAX_ATTEMPTS:
            break
        assert delivery.status == "retrying"
        assert_waits(delivery, now, RETRY_SCHEDULE[number])
        assert attempt_at(delivery, delivery.next_attempt_at - dt.timedelta(seconds=1)) is None
        now = delivery.next_attempt_at

    assert (delivery.status, delivery.dead_lettered_at, delivery.next_attempt_at) == (
        "dead",
        now,
        None,
    )
    assert len(receiver.requests) == MAX_ATTEMPTS
    assert {request.headers["webhook-id"] for request in receiver.requests} == {delivery.event_id}
    assert attempt_at(delivery, now + dt.timedelta(days=7)) is None


def test_retry_delays_are_jittered_within_ten_percent_and_never_negative():
    for attempts_made in range(MAX_ATTEMPTS):
        scheduled = RETRY_SCHEDULE[attempts_made]
        delays = {retry_delay(attempts_made) for _ in range(200)}
        assert all(scheduled * 0.9 <= delay <= scheduled * 1.1 for delay in delays)
        assert all(delay >= dt.timedelta(0) for delay in delays)
        assert len(delays) > 1 or scheduled == dt.timedelta(0)
    assert retry_delay(MAX_ATTEMPTS) is None


def test_a_timeout_is_a_failed_attempt_retried_on_schedule(merchant, receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    receiver.answer(Answer(delay=2))
    now = timezone.now()
    delivery = delivery_to(merchant, receiver.url(), now)

    first = attempt_at(delivery, now)
    assert_waits(delivery, now, dt.timedelta(seconds=5))
    later = delivery.next_attempt_at
    second = attempt_at(delivery, later)

    assert (first.error_kind, first.response_status, first.succeeded) == ("timeout", None, False)
    assert first.error == "no answer within 0.5 s"
    assert first.latency_ms < 2000
    assert second.error_kind == "timeout"
    assert delivery.status == "retrying"
    assert_waits(delivery, later, dt.timedelta(minutes=5))


def test_a_refused_connection_is_a_failed_attempt(merchant, receiver):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed_port = unused.getsockname()[1]
    now = timezone.now()
    delivery = delivery_to(merchant, f"http://127.0.0.1:{closed_port}/hooks", now)

    attempt = attempt_at(delivery, now)

    assert attempt.error_kind == "connection"
    assert "refused" in attempt.error.lower()
    assert delivery.status == "retrying"


def test_retry_after_holds_the_next_attempt_back_but_never_brings_it_forward(merchant, receiver):
    now = timezone.now()
    delivery = delivery_to(merchant, receiver.url(), now)
    in_an_hour = email.utils.format_datetime(now + dt.timedelta(hours=1), usegmt=True)
    receiver.answer(
        Answer(status=503, headers={"Retry-After": "120"}),
        Answer(status=429, headers={"Retry-After": in_an_hour}),
        Answer(status=503, headers={"Retry-After": "1"}),
        Answer(status=503, headers={"Retry-After": "99999999"}),
    )

    attempt_at(delivery, now)  # schedule: 5 s
    assert delivery.next_attempt_at == now + dt.timedelta(seconds=120)
    second = delivery.next_attempt_at
    attempt_at(delivery, second)  # schedule: 5 min
    assert abs(delivery.next_attempt_at - (now + dt.timedelta(hours=1))) <= dt.timedelta(seconds=1)
    third = delivery.next_attempt_at
    attempt_at(delivery, third)  # schedule: 30 min
    assert_waits(delivery, third, dt.timedelta(minutes=30))
    fourth = delivery.next_attempt_at
    attempt_at(delivery, fourth)  # schedule: 2 h; Retry-After capped at 24 h
    assert delivery.next_attempt_at == fourth + dt.timedelta(hours=24)


def test_410_gone_disables_the_endpoint_at_once(merchant, receiver):
    receiver.answer(Answer(status=410))
    created = endpoint_for(merchant, receiver.url())
    first, second = publish(merchant), publish(merchant)
    now = timezone.now()
    outbox_relay(now=now)
    gone = WebhookDelivery.objects.get(event=first)
    waiting = WebhookDelivery.objects.get(event=second)

    attempt_at(gone, now)

    endpoint = created.endpoint
    endpoint.refresh_from_db()
    waiting.refresh_from_db()
    assert (endpoint.status, endpoint.disabled_reason) == ("disabled", "gone")
    assert (gone.status, gone.last_response_status) == ("dead", 410)
    assert waiting.status == "dead"
    assert waiting.last_error.startswith("endpoint disabled")
    assert attempt_at(waiting, now) is None
    assert len(receiver.requests) == 1
    told = OutboxEvent.objects.get(type="webhook_endpoint.disabled")
    assert (told.merchant_id, told.data["id"], told.data["disabled_reason"]) == (
        merchant.id,
        endpoint.id,
        "gone",
    )
    assert AuditLog.objects.filter(
        action="webhook_endpoint.disabled", resource_id=endpoint.id, user_id="system"
    ).exists()


def test_an_endpoint_failing_for_three_days_is_disabled_and_the_merchant_sees_an_event(
    api_client, merchant, receiver
):
    receiver.answer(Answer(status=500))
    endpoint = endpoint_for(merchant, receiver.url()).endpoint
    start = timezone.now()

    def fail_a_new_delivery(at: dt.datetime) -> None:
        event = publish(merchant)
        outbox_relay(now=at)
        attempt_at(WebhookDelivery.objects.get(event=event), at)
        endpoint.refresh_from_db()

    fail_a_new_delivery(start)
    fail_a_new_delivery(start + dt.timedelta(days=3) - dt.timedelta(seconds=1))
    assert (endpoint.status, endpoint.failing_since) == ("enabled", start)
    fail_a_new_delivery(start + dt.timedelta(days=3, seconds=1))

    assert (endpoint.status, endpoint.disabled_reason) == ("disabled", "failing")
    listed = api_client.get("/api/v1/events", {"type": "webhook_endpoint.disabled"}).json()
    (event,) = listed["data"]
    assert (event["object"], event["type"]) == ("event", "webhook_endpoint.disabled")
    assert (event["data"]["id"], event["data"]["disabled_reason"]) == (endpoint.id, "failing")
    assert api_client.get(f"/api/v1/events/{event['id']}").json() == event
    assert WebhookDelivery.objects.filter(status="retrying").count() == 0


def test_a_success_ends_the_run_of_failures(merchant, receiver):
    endpoint = endpoint_for(merchant, receiver.url()).endpoint
    start = timezone.now()
    for offset, status in ((0, 500), (2, 200), (3, 500)):
        receiver.answer(Answer(status=status))
        event = publish(merchant)
        at = start + dt.timedelta(days=offset, seconds=1)
        outbox_relay(now=at)
        attempt_at(WebhookDelivery.objects.get(event=event), at)

    endpoint.refresh_from_db()
    assert endpoint.status == "enabled"
    assert endpoint.failing_since == start + dt.timedelta(days=3, seconds=1)


class WorkerDied(BaseException):
    """What SIGKILL looks like from inside: nothing after it runs."""


def test_a_worker_that_dies_after_sending_leaves_the_delivery_to_be_sent_again(
    merchant, receiver, monkeypatch
):
    now = timezone.now()
    delivery = delivery_to(merchant, receiver.url(), now)

    def die(*args, **kwargs):
        raise WorkerDied

    with monkeypatch.context() as patched:
        patched.setattr(delivery_module, "_record", die)
        with pytest.raises(WorkerDied):
            delivery_attempt(delivery_id=delivery.id, now=now)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count) == ("pending", 1)
    assert not WebhookAttempt.objects.exists()
    assert deliveries_due(now=now + dt.timedelta(seconds=5)) == []  # still leased
    lease_over = now + lease_duration()
    assert deliveries_due(now=lease_over) == [delivery.id]

    attempt = attempt_at(delivery, lease_over)

    assert (attempt.number, delivery.status) == (2, "succeeded")
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.event_id
    assert attempt_at(delivery, lease_over + dt.timedelta(hours=1)) is None
    assert len(receiver.requests) == 2


def test_a_delivery_whose_last_attempt_was_never_recorded_is_dead_lettered(merchant, receiver):
    now = timezone.now()
    delivery = delivery_to(merchant, receiver.url(), now)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempt_count=MAX_ATTEMPTS)

    assert attempt_at(delivery, now) is None

    assert (delivery.status, delivery.last_error) == ("dead", "the last attempt was never recorded")
    assert receiver.requests == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_tasks_for_one_delivery_send_it_once(merchant, receiver, enqueued):
    now = timezone.now()
    delivery = delivery_to(merchant, receiver.url(), now)

    attempts = run_concurrently(4, lambda: delivery_attempt(delivery_id=delivery.id, now=now))

    assert sum(attempt is not None for attempt in attempts) == 1
    assert len(receiver.requests) == 1
    assert WebhookAttempt.objects.count() == 1


def test_due_deliveries_are_queued_once_until_a_worker_takes_them(merchant, receiver):
    now = timezone.now()
    receiver.answer(Answer(status=500))
    delivery = delivery_to(merchant, receiver.url(), now)
    attempt_at(delivery, now)
    due = delivery.next_attempt_at

    assert deliveries_due(now=due - dt.timedelta(seconds=1)) == []
    assert deliveries_due(now=due) == [delivery.id]
    assert deliveries_due(now=due + dt.timedelta(seconds=5)) == []  # its task is waiting
    assert deliveries_due(now=due + dt.timedelta(minutes=6)) == [delivery.id]  # message lost
