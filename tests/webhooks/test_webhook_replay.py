"""Dead-lettered deliveries are mirrored in the Redis list webhook_dlq, and operators replay
or resolve them (runbook script, management command, back office), which takes them off it."""

import datetime as dt
import io
import subprocess
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from audit.models import AuditLog
from tests.subprocesses import child_env
from tests.webhooks.helpers import attempt_at, endpoint_for, publish
from tests.webhooks.receiver import Answer
from webhooks.models import OutboxEvent, WebhookDelivery
from webhooks.outbound.endpoints import endpoint_update
from webhooks.outbound.errors import DeliveryNotReplayable, ReplayRateLimited
from webhooks.outbound.relay import outbox_relay
from webhooks.outbound.replay import (
    REPLAY_MAX_PER_ACTION,
    REPLAY_MAX_PER_MINUTE,
    deliveries_replay_window,
    delivery_replay,
    delivery_resolve,
    replay_budget_take,
)
from webhooks.outbound.schedule import MAX_ATTEMPTS

ROOT = Path(__file__).resolve().parents[2]
CHANGELIST = "/admin/webhooks/webhookdelivery/"
JAN_1 = dt.datetime(2024, 1, 1, 10, 0, tzinfo=dt.UTC)


def dead_letters(merchant, url: str, *dead_lettered_at: dt.datetime) -> list[WebhookDelivery]:
    """Deliveries of new events, dead-lettered at the given times."""
    events = [publish(merchant) for _ in dead_lettered_at]
    outbox_relay()
    deliveries = []
    for event, when in zip(events, dead_lettered_at, strict=True):
        delivery = WebhookDelivery.objects.get(event=event, endpoint__url=url)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status="dead", dead_lettered_at=when, attempt_count=MAX_ATTEMPTS
        )
        delivery.refresh_from_db()
        deliveries.append(delivery)
    return deliveries


def replay_command(*args: str) -> str:
    out = io.StringIO()
    call_command("replay_webhooks", *args, stdout=out)
    return out.getvalue()


def test_the_last_failed_attempt_lists_the_delivery_in_the_redis_dlq(
    merchant, receiver, dlq, django_capture_on_commit_callbacks
):
    receiver.answer(Answer(status=500))
    endpoint_for(merchant, receiver.url())
    event = publish(merchant)
    now = timezone.now()
    outbox_relay(now=now)
    delivery = WebhookDelivery.objects.get(event=event)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempt_count=MAX_ATTEMPTS - 1)

    with django_capture_on_commit_callbacks(execute=True):
        attempt_at(delivery, now)
        assert dlq.lrange("webhook_dlq", 0, 10) == []  # not before the commit

    assert delivery.status == "dead"
    assert dlq.lrange("webhook_dlq", 0, 10) == [delivery.id]


def test_replaying_or_resolving_takes_the_delivery_off_the_redis_dlq(
    merchant, receiver, dlq, enqueued, django_capture_on_commit_callbacks
):
    endpoint_for(merchant, receiver.url())
    replayed, resolved, kept = dead_letters(merchant, receiver.url(), JAN_1, JAN_1, JAN_1)
    dlq.rpush("webhook_dlq", replayed.id, resolved.id, kept.id)

    with django_capture_on_commit_callbacks(execute=True):
        delivery_replay(delivery_id=replayed.id, reason="endpoint fixed")
        delivery_resolve(delivery_id=resolved.id, note="merchant re-synced by hand")

    assert dlq.lrange("webhook_dlq", 0, 10) == [kept.id]
    assert enqueued == [replayed.id]


def test_replay_webhooks_replays_the_dead_letters_of_the_window_and_audits_each(
    merchant, receiver, enqueued, django_capture_on_commit_callbacks
):
    url = receiver.url()
    endpoint_for(merchant, url)
    first, last_of_window, after = dead_letters(
        merchant,
        url,
        JAN_1,
        dt.datetime(2024, 1, 2, 23, 59, tzinfo=dt.UTC),
        dt.datetime(2024, 1, 3, 0, 0, 1, tzinfo=dt.UTC),
    )
    (resolved,) = dead_letters(merchant, url, JAN_1)
    delivery_resolve(delivery_id=resolved.id, note="handled by hand")

    with django_capture_on_commit_callbacks(execute=True):
        output = replay_command("--from=2024-01-01", "--to=2024-01-02")

    assert "Replayed 2 deliveries dead-lettered 2024-01-01 00:00:00 to 2024-01-02 23:59:59" in (
        output
    )
    for delivery in (first, last_of_window):
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempt_count, delivery.replay_count) == (
            "pending",
            0,
            1,
        )
    after.refresh_from_db()
    resolved.refresh_from_db()
    assert (after.status, resolved.status) == ("dead", "dead")
    assert sorted(enqueued) == sorted([first.id, last_of_window.id])
    audit = AuditLog.objects.filter(action="webhook_delivery.replayed")
    assert {row.resource_id for row in audit} == {first.id, last_of_window.id}
    assert all(row.user_id.startswith("cli:") for row in audit)
    attempt_at(first, timezone.now())
    assert first.status == "succeeded"
    assert receiver.requests[0].headers["webhook-id"] == first.event_id


def test_replay_webhooks_dry_run_lists_and_changes_nothing(merchant, receiver):
    url = receiver.url()
    endpoint_for(merchant, url)
    (delivery,) = dead_letters(merchant, url, JAN_1)

    output = replay_command("--from=2024-01-01", "--to=2024-01-01", "--dry-run")

    assert "Would replay 1 deliveries" in output and delivery.id in output
    delivery.refresh_from_db()
    assert delivery.status == "dead"


def test_replay_skips_deliveries_of_a_disabled_endpoint_and_says_why(merchant, receiver):
    url = receiver.url()
    endpoint = endpoint_for(merchant, url).endpoint
    (delivery,) = dead_letters(merchant, url, JAN_1)
    endpoint_update(merchant_id=merchant.id, livemode=False, endpoint_id=endpoint.id, disabled=True)

    output = replay_command("--from=2024-01-01", "--to=2024-01-01")

    assert "Replayed 0 deliveries" in output
    assert f"Skipped {delivery.id}" in output and "disabled" in output
    with pytest.raises(DeliveryNotReplayable):
        delivery_replay(delivery_id=delivery.id, reason="try")


def test_a_large_window_replay_is_spread_over_the_following_minutes(merchant, receiver):
    url = receiver.url()
    endpoint = endpoint_for(merchant, url).endpoint
    count = REPLAY_MAX_PER_MINUTE + 2
    events = OutboxEvent.objects.bulk_create(
        OutboxEvent(merchant_id=merchant.id, type="payment.completed", data={})
        for _ in range(count)
    )
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            endpoint=endpoint,
            event=event,
            merchant_id=merchant.id,
            event_type=event.type,
            status="dead",
            dead_lettered_at=JAN_1,
        )
        for event in events
    )
    now = timezone.now()

    report = deliveries_replay_window(start=JAN_1, end=JAN_1, reason="outage over", now=now)

    due = sorted(WebhookDelivery.objects.values_list("next_attempt_at", flat=True))
    assert len(report.replayed) == count
    assert due.count(now) == REPLAY_MAX_PER_MINUTE
    assert due[-2:] == [now + dt.timedelta(minutes=1)] * 2


@pytest.mark.django_db(transaction=True)
def test_the_runbook_script_replays_a_window(merchant, receiver):
    endpoint_for(merchant, receiver.url())
    (delivery,) = dead_letters(merchant, receiver.url(), JAN_1)

    result = subprocess.run(
        ["./scripts/replay-webhooks.sh", "--from=2024-01-01", "--to=2024-01-02"],
        cwd=ROOT,
        env=child_env(WEBHOOK_ALLOW_LOOPBACK="true"),
        capture_output=True,
        text=True,
        timeout=120,
    )

    if settings.REDIS_URL:  # its task went to a broker no worker listens to here
        redis.Redis.from_url(settings.REDIS_URL).delete("webhook_queue")
    assert result.returncode == 0, result.stderr
    assert "Replayed 1 deliveries" in result.stdout
    delivery.refresh_from_db()
    # Without REDIS_URL the script's process delivered it at once (eager mode).
    assert delivery.status in ("pending", "succeeded")
    assert delivery.replay_count == 1


def test_back_office_replays_are_limited_per_action_and_per_minute():
    quiet_minute = dt.datetime(2001, 1, 1, 0, 0, tzinfo=dt.UTC)
    cache.delete("webhooks:replays:200101010000")

    with pytest.raises(ReplayRateLimited, match=f"at most {REPLAY_MAX_PER_ACTION}"):
        replay_budget_take(REPLAY_MAX_PER_ACTION + 1, now=quiet_minute)
    for _ in range(REPLAY_MAX_PER_MINUTE // REPLAY_MAX_PER_ACTION):
        replay_budget_take(REPLAY_MAX_PER_ACTION, now=quiet_minute)
    with pytest.raises(ReplayRateLimited, match="per minute"):
        replay_budget_take(1, now=quiet_minute)
    replay_budget_take(1, now=quiet_minute + dt.timedelta(minutes=1))
    cache.delete_many(["webhooks:replays:200101010000", "webhooks:replays:200101010001"])


def test_operators_replay_selected_dead_letters_with_a_reason_as_themselves(
    admin_client, admin_user, merchant, receiver, enqueued
):
    cache.delete(f"webhooks:replays:{timezone.now():%Y%m%d%H%M}")
    endpoint_for(merchant, receiver.url())
    first, second = dead_letters(merchant, receiver.url(), JAN_1, JAN_1)
    selection = {"action": "replay_deliveries", "_selected_action": [first.id, second.id]}

    confirm = admin_client.post(CHANGELIST, selection)
    applied = admin_client.post(
        CHANGELIST, {**selection, "apply": "1", "reason": "endpoint is back"}, follow=True
    )

    assert confirm.status_code == 200 and b"Confirm: replayed" in confirm.content
    assert "Replayed: 2." in applied.content.decode()
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"pending"}
    audit = AuditLog.objects.filter(action="webhook_delivery.replayed")
    assert {row.user_id for row in audit} == {f"user:{admin_user.pk}"}
    assert audit.first().new_value["reason"] == "endpoint is back"


def test_operators_cannot_replay_more_than_the_per_action_limit(admin_client, merchant, receiver):
    endpoint = endpoint_for(merchant, receiver.url()).endpoint
    events = OutboxEvent.objects.bulk_create(
        OutboxEvent(merchant_id=merchant.id, type="payment.completed", data={})
        for _ in range(REPLAY_MAX_PER_ACTION + 1)
    )
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(endpoint=endpoint, event=event, merchant_id=merchant.id, status="dead")
        for event in events
    )

    response = admin_client.post(
        CHANGELIST,
        {"action": "replay_deliveries", "_selected_action": [d.id for d in deliveries]},
        follow=True,
    )

    assert f"Select at most {REPLAY_MAX_PER_ACTION}" in response.content.decode()
    assert not WebhookDelivery.objects.exclude(status="dead").exists()
