"""The inbound webhook console: operators see what gateways sent and replay dead letters."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from audit.models import AuditLog
from tests.conftest import operator_login
from webhooks.models import WebhookLog

pytestmark = pytest.mark.django_db
LOGS = "/admin/webhooks/webhooklog/"


def operator(client, *codenames):
    user = get_user_model().objects.create_user(
        "ops", password="a-long-password-123", is_staff=True
    )
    for codename in ("view_webhooklog", *codenames):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    operator_login(client, user)
    return user


def dead_letter() -> WebhookLog:
    return WebhookLog.objects.create(
        provider="stripe",
        event_id="evt_dead",
        event_type="payment_intent.succeeded",
        body='{"id": "evt_dead", "type": "payment_intent.succeeded", "data": {"object": {}}}',
        status="dead",
        attempts=6,
    )


def test_an_operator_replays_a_dead_letter_with_a_reason(client):
    log = dead_letter()
    operator(client, "change_webhooklog")

    listing = client.get(LOGS, {"status__exact": "dead"})
    client.post(
        LOGS,
        {
            "action": "replay_webhooks",
            "_selected_action": [log.pk],
            "apply": "1",
            "reason": "payment restored",
        },
    )

    assert b"evt_dead" in listing.content
    log.refresh_from_db()
    assert log.status in ("queued", "retrying", "processed", "ignored")
    assert log.attempts <= 1
    assert AuditLog.objects.filter(action="webhook_log.replayed", resource_id=str(log.id)).exists()


def test_replaying_needs_permission(client):
    log = dead_letter()
    operator(client)

    client.post(
        LOGS,
        {
            "action": "replay_webhooks",
            "_selected_action": [log.pk],
            "apply": "1",
            "reason": "x" * 10,
        },
    )

    log.refresh_from_db()
    assert log.status == "dead"


def test_the_dispute_list_renders(client):
    operator(client, "view_dispute")

    assert client.get("/admin/payments/dispute/").status_code == 200
