"""Inbound Stripe webhooks: stored raw, verified, deduplicated, applied by the worker without
ever moving a payment backwards, retried when early, dead-lettered when never matched."""

import datetime as dt
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from audit.models import SecurityEvent
from payments.models import (
    Dispute,
    Payment,
    PaymentStatus,
    PendingOperation,
    Refund,
    RefundStatus,
    Transaction,
)
from payments.services import gateway_events
from payments.services.inbound_webhooks import (
    RETRY_SCHEDULE,
    webhook_logs_purge,
    webhook_process,
    webhook_replay,
    webhooks_due,
)
from tests.inbound.stripe_events import SECRET, event, payment_intent, post, signed
from tests.payments.factories import MerchantFactory, PaymentFactory
from webhooks.models import OutboxEvent, WebhookLog

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET


def stripe_payment(status=PaymentStatus.REQUIRES_ACTION, **fields):
    return PaymentFactory(
        gateway="stripe",
        status=status,
        gateway_reference=fields.pop("gateway_reference", f"pi_{timezone.now().timestamp()}"),
        **fields,
    )


def deliver(client, payload):
    response = post(client, payload)
    assert response.status_code == 200, response.content
    log = WebhookLog.objects.get(event_id=payload["id"])
    return log, webhook_process(log.id)


def test_a_3ds_payment_completes_when_stripe_says_it_succeeded(client):
    payment = stripe_payment(amount=2500)

    log, status = deliver(
        client,
        event(
            "payment_intent.succeeded",
            payment_intent(payment.gateway_reference, "succeeded", amount=2500),
        ),
    )

    assert status == "processed"
    payment.refresh_from_db()
    assert (payment.status, payment.amount_captured) == ("COMPLETED", 2500)
    assert Transaction.objects.get(payment=payment).idempotency_key == f"event:{log.event_id}"
    assert OutboxEvent.objects.filter(type="payment.completed", data__id=payment.id).exists()
    assert log.headers["Stripe-Signature"].startswith("t=")
    assert log.source_ip == "127.0.0.1"
    assert json.loads(log.body)["id"] == log.event_id


def test_a_processing_payment_is_settled_through_the_compare_and_set_step(client):
    payment = stripe_payment(
        PaymentStatus.PROCESSING,
        pending_operation=PendingOperation.AUTHORIZE,
        attempt_count=1,
        gateway_reference="",
    )
    intent = payment_intent(
        "pi_lost_answer", "succeeded", metadata={"paydesk_payment_id": payment.id}
    )

    deliver(client, event("payment_intent.succeeded", intent))

    payment.refresh_from_db()
    assert (payment.status, payment.gateway_reference, payment.pending_operation) == (
        "COMPLETED",
        "pi_lost_answer",
        "",
    )


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        ("", "missing Stripe-Signature header"),
        ("t=1,v1=abc", "signature does not verify"),
        ("garbage", "signature does not verify"),
    ],
)
def test_an_unsigned_or_badly_signed_webhook_is_refused_and_recorded(client, signature, reason):
    payment = stripe_payment()

    response = post(
        client,
        event("payment_intent.succeeded", payment_intent(payment.gateway_reference, "succeeded")),
        signature=signature,
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "signature_invalid"
    log = WebhookLog.objects.get()
    assert (log.status, log.event_id) == ("rejected", "")
    assert log.last_error.startswith(reason)
    assert SecurityEvent.objects.filter(event_type="webhook.signature_invalid").exists()
    payment.refresh_from_db()
    assert payment.status == "REQUIRES_ACTION"


def test_a_webhook_signed_more_than_five_minutes_ago_is_refused(client):
    payload = event("payment_intent.succeeded", payment_intent("pi_old", "succeeded"))
    body = json.dumps(payload).encode()

    response = post(
        client, payload, signature=signed(body, timestamp=int(timezone.now().timestamp()) - 301)
    )

    assert response.status_code == 400


def test_the_same_event_twice_is_applied_once(client):
    payment = stripe_payment()
    payload = event(
        "payment_intent.succeeded", payment_intent(payment.gateway_reference, "succeeded")
    )

    deliver(client, payload)
    again = post(client, payload)

    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert WebhookLog.objects.filter(status="duplicate").count() == 1
    assert Transaction.objects.filter(payment=payment).count() == 1


def test_late_events_never_move_a_payment_backwards(client):
    payment = stripe_payment()
    deliver(
        client,
        event("payment_intent.succeeded", payment_intent(payment.gateway_reference, "succeeded")),
    )

    _, late_action = deliver(
        client,
        event(
            "payment_intent.requires_action",
            payment_intent(payment.gateway_reference, "requires_action"),
        ),
    )
    _, late_failure = deliver(
        client,
        event(
            "payment_intent.payment_failed",
            payment_intent(payment.gateway_reference, "requires_payment_method"),
        ),
    )

    assert late_action == late_failure == "processed"
    payment.refresh_from_db()
    assert payment.status == "COMPLETED"
    assert Transaction.objects.filter(payment=payment).count() == 1


def test_an_authorization_captured_at_stripe_completes_the_payment(client):
    payment = stripe_payment(PaymentStatus.AUTHORIZED, capture_method="manual", amount=5000)

    deliver(
        client,
        event(
            "payment_intent.succeeded",
            payment_intent(payment.gateway_reference, "succeeded", amount=4000),
        ),
    )

    payment.refresh_from_db()
    assert (payment.status, payment.amount_captured) == ("COMPLETED", 4000)
    assert Transaction.objects.get(payment=payment).kind == "CAPTURE"


def test_a_failed_3ds_payment_fails_with_the_decline_code(client):
    payment = stripe_payment()
    intent = payment_intent(
        payment.gateway_reference,
        "requires_payment_method",
        last_payment_error={
            "code": "card_declined",
            "decline_code": "authentication_required",
            "message": "3DS failed",
        },
    )

    deliver(client, event("payment_intent.payment_failed", intent))

    payment.refresh_from_db()
    assert (payment.status, payment.error_code) == ("FAILED", "authentication_required")


def test_an_event_for_an_unknown_payment_is_retried_then_dead_lettered(client):
    payload = event("payment_intent.succeeded", payment_intent("pi_not_yet", "succeeded"))
    response = post(client, payload)
    log = WebhookLog.objects.get(event_id=payload["id"])
    now = timezone.now()

    assert response.status_code == 200
    assert webhook_process(log.id, now=now) == "retrying"
    log.refresh_from_db()
    assert log.next_attempt_at == now + RETRY_SCHEDULE[0]
    assert webhook_process(log.id, now=now) is None  # not due yet
    assert webhooks_due(now=now + RETRY_SCHEDULE[0]) == [log.id]

    statuses = []
    for _ in RETRY_SCHEDULE:
        now = log.next_attempt_at
        statuses.append(webhook_process(log.id, now=now))
        log.refresh_from_db()
    assert statuses == ["retrying"] * (len(RETRY_SCHEDULE) - 1) + ["dead"]
    assert log.attempts == len(RETRY_SCHEDULE) + 1


def test_an_early_event_is_applied_when_its_payment_appears(client):
    payload = event("payment_intent.succeeded", payment_intent("pi_early", "succeeded"))
    post(client, payload)
    log = WebhookLog.objects.get(event_id=payload["id"])
    webhook_process(log.id)
    payment = stripe_payment(gateway_reference="pi_early")

    assert webhook_process(log.id, now=timezone.now() + RETRY_SCHEDULE[0]) == "processed"
    payment.refresh_from_db()
    assert payment.status == "COMPLETED"


def test_a_dead_letter_is_replayed_by_an_operator(client):
    payload = event("payment_intent.succeeded", payment_intent("pi_dead", "succeeded"))
    post(client, payload)
    log = WebhookLog.objects.get(event_id=payload["id"])
    WebhookLog.objects.filter(pk=log.pk).update(status="dead", attempts=6)
    stripe_payment(gateway_reference="pi_dead")

    webhook_replay(log_id=log.id, operator="alice")

    assert webhook_process(log.id) == "processed"


def test_a_crash_mid_processing_changes_nothing_and_the_retry_applies_it_once(client, monkeypatch):
    payment = stripe_payment()
    payload = event(
        "payment_intent.succeeded", payment_intent(payment.gateway_reference, "succeeded")
    )
    post(client, payload)
    log = WebhookLog.objects.get(event_id=payload["id"])

    def crash(**event):
        raise SystemExit("worker killed")

    monkeypatch.setattr(gateway_events, "event_publish", crash)
    with pytest.raises(SystemExit):
        webhook_process(log.id)
    monkeypatch.undo()

    payment.refresh_from_db()
    log.refresh_from_db()
    assert (payment.status, log.status) == ("REQUIRES_ACTION", "queued")
    assert webhook_process(log.id) == "processed"
    assert Transaction.objects.filter(payment=payment).count() == 1


def test_refund_events_settle_pending_refunds(client):
    payment = stripe_payment(PaymentStatus.COMPLETED, amount=3000, amount_refunded=1000)
    refund = Refund.objects.create(
        merchant=payment.merchant,
        payment=payment,
        amount=1000,
        currency="USD",
        status=RefundStatus.PENDING,
        reason="duplicate",
        gateway="stripe",
        gateway_reference="re_pending",
    )
    refund_object = {
        "id": "re_pending",
        "object": "refund",
        "status": "failed",
        "amount": 1000,
        "currency": "usd",
        "payment_intent": payment.gateway_reference,
        "failure_reason": "expired_or_canceled_card",
    }

    deliver(client, event("refund.updated", refund_object))

    refund.refresh_from_db()
    assert (refund.status, refund.error_code) == ("FAILED", "expired_or_canceled_card")
    assert Payment.objects.get(pk=payment.pk).amount_refunded == 0


def test_a_dispute_is_recorded_and_closed(client):
    payment = stripe_payment(PaymentStatus.COMPLETED, amount=8000)
    due = int((timezone.now() + dt.timedelta(days=7)).timestamp())
    dispute = {
        "id": "dp_1",
        "object": "dispute",
        "amount": 8000,
        "currency": "usd",
        "payment_intent": payment.gateway_reference,
        "reason": "fraudulent",
        "status": "needs_response",
        "evidence_details": {"due_by": due},
    }

    deliver(client, event("charge.dispute.created", dispute))
    deliver(client, event("charge.dispute.closed", {**dispute, "status": "lost"}))

    recorded = Dispute.objects.get()
    assert (recorded.payment_id, recorded.reason, recorded.status, recorded.amount) == (
        payment.id,
        "fraudulent",
        "lost",
        8000,
    )
    assert recorded.evidence_due_by.timestamp() == due
    assert list(
        OutboxEvent.objects.filter(type__startswith="dispute.")
        .values_list("type", flat=True)
        .order_by("created_at")
    ) in (
        ["dispute.created", "dispute.closed"],
        ["dispute.closed", "dispute.created"],
    )


def test_events_we_do_not_act_on_are_kept_as_ignored(client):
    _, status = deliver(client, event("customer.created", {"id": "cus_1", "object": "customer"}))

    assert status == "ignored"


def test_logs_older_than_30_days_are_purged_but_unresolved_dead_letters_stay(client):
    for status in ("processed", "dead", "rejected"):
        WebhookLog.objects.create(provider="stripe", body="{}", status=status)
    WebhookLog.objects.update(created_at=timezone.now() - dt.timedelta(days=31))
    WebhookLog.objects.create(provider="stripe", body="{}", status="processed")

    assert webhook_logs_purge() == 2
    assert sorted(WebhookLog.objects.values_list("status", flat=True)) == ["dead", "processed"]
    with connection.cursor() as cursor:  # the runbook's weekly SQL works as written
        cursor.execute("DELETE FROM webhook_logs WHERE created_at < NOW() - INTERVAL '30 days'")
    assert WebhookLog.objects.count() == 1


def test_other_merchants_ids_do_not_match_by_metadata(client):
    payment = stripe_payment(gateway_reference="pi_mine")
    other = PaymentFactory(
        merchant=MerchantFactory(), gateway="sandbox", status=PaymentStatus.REQUIRES_ACTION
    )
    intent = payment_intent("pi_mine", "succeeded", metadata={"paydesk_payment_id": other.id})

    deliver(client, event("payment_intent.succeeded", intent))

    other.refresh_from_db()
    payment.refresh_from_db()
    assert other.status == "REQUIRES_ACTION"  # a sandbox payment is never moved by Stripe
    assert payment.status == "COMPLETED"


def test_dead_letters_of_a_window_are_replayed_by_the_runbook_command(capsys):
    jan_1 = dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC)
    inside, outside = (
        WebhookLog.objects.create(provider="stripe", body="{}", status="dead", attempts=6)
        for _ in range(2)
    )
    WebhookLog.objects.filter(pk=inside.pk).update(received_at=jan_1)
    WebhookLog.objects.filter(pk=outside.pk).update(received_at=jan_1 + dt.timedelta(days=3))

    call_command("replay_inbound_webhooks", "--from=2024-01-01", "--to=2024-01-02", "--dry-run")
    assert WebhookLog.objects.get(pk=inside.pk).status == "dead"
    call_command("replay_inbound_webhooks", "--from=2024-01-01", "--to=2024-01-02")

    out = capsys.readouterr().out
    assert (
        f"Would replay 1 inbound webhooks received in the window.\n  webhook_log {inside.id}" in out
    )
    assert WebhookLog.objects.get(pk=inside.pk).status == "queued"
    assert WebhookLog.objects.get(pk=outside.pk).status == "dead"
    with pytest.raises(CommandError, match="Invalid date"):
        call_command("replay_inbound_webhooks", "--from=January", "--to=2024-01-02")


def test_the_payment_page_timeline_shows_the_webhooks_about_it(client, admin_client):
    payment = stripe_payment(amount=2500)
    deliver(
        client,
        event(
            "payment_intent.succeeded",
            payment_intent(payment.gateway_reference, "succeeded", amount=2500),
        ),
    )

    page = admin_client.get(f"/admin/payments/payment/{payment.id}/change/").content.decode()

    assert "webhook in" in page
    assert "stripe payment_intent.succeeded: processed" in page
