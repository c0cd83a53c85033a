"""Operators see endpoints (never a secret) and deliveries with every attempt; disabling an
endpoint and replaying need their own permissions and a reason."""

from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from audit.models import AuditLog
from tests.conftest import operator_login
from tests.webhooks.helpers import attempt_at, endpoint_for, publish
from tests.webhooks.receiver import Answer
from webhooks.models import OutboxEvent, WebhookDelivery
from webhooks.outbound.relay import outbox_relay

ENDPOINTS = "/admin/webhooks/webhookendpoint/"
DELIVERIES = "/admin/webhooks/webhookdelivery/"


def test_operators_see_endpoints_without_secrets_and_deliveries_with_each_attempt(
    admin_client, merchant, receiver
):
    created = endpoint_for(merchant, receiver.url())
    receiver.answer(Answer(status=500, body="try later"), Answer(status=200))
    event = publish(merchant)
    now = timezone.now()
    outbox_relay(now=now)
    delivery = WebhookDelivery.objects.get(event=event)
    attempt_at(delivery, now)
    attempt_at(delivery, delivery.next_attempt_at)

    pages = [
        admin_client.get(ENDPOINTS),
        admin_client.get(f"{ENDPOINTS}{created.endpoint.id}/change/"),
        admin_client.get(f"{DELIVERIES}{delivery.id}/change/"),
    ]

    assert all(page.status_code == 200 for page in pages)
    assert not any(created.secret.encode() in page.content for page in pages)
    assert not any(b"whsec_" in page.content for page in pages)
    detail = pages[2].content.decode()
    assert "answered 500" in detail and "try later" in detail
    assert "webhook-signature" in detail and event.id in detail
    for filters, count in [
        ({"status__exact": "succeeded"}, 1),
        ({"status__exact": "dead"}, 0),
        ({"event_type__exact": "payment.completed"}, 1),
        ({"merchant": merchant.id}, 1),
        ({"dlq": "open"}, 0),
        ({"created_at__year": str(now.year)}, 1),
    ]:
        assert admin_client.get(DELIVERIES, filters).context["cl"].result_count == count


def test_operators_disable_an_endpoint_with_a_reason_and_its_merchant_is_told(
    admin_client, admin_user, merchant, receiver
):
    endpoint = endpoint_for(merchant, receiver.url()).endpoint
    publish(merchant)
    outbox_relay()
    selection = {"action": "disable_endpoints", "_selected_action": [endpoint.id]}

    admin_client.post(
        ENDPOINTS, {**selection, "apply": "1", "reason": "floods our workers"}, follow=True
    )

    endpoint.refresh_from_db()
    assert (endpoint.status, endpoint.disabled_reason) == ("disabled", "operator")
    assert WebhookDelivery.objects.get().status == "dead"
    assert OutboxEvent.objects.filter(type="webhook_endpoint.disabled").exists()
    audit = AuditLog.objects.get(action="webhook_endpoint.disabled")
    assert (audit.user_id, audit.new_value["note"]) == (
        f"user:{admin_user.pk}",
        "floods our workers",
    )


def test_replaying_and_disabling_need_their_own_permissions(merchant, receiver):
    endpoint_for(merchant, receiver.url())
    publish(merchant)
    outbox_relay()
    operator = User.objects.create_user("viewer", password="a-long-password-1", is_staff=True)
    operator.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_webhookdelivery", "view_webhookendpoint"])
    )
    client = Client()
    operator_login(client, operator)

    assert b"replay_deliveries" not in client.get(DELIVERIES).content
    assert b"disable_endpoints" not in client.get(ENDPOINTS).content
    operator.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["replay_webhookdelivery", "disable_webhookendpoint"]
        )
    )
    operator = User.objects.get(pk=operator.pk)  # a fresh permission cache
    operator_login(client, operator)
    assert b"replay_deliveries" in client.get(DELIVERIES).content
    assert b"disable_endpoints" in client.get(ENDPOINTS).content
