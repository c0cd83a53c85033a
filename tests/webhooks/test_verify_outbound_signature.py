"""`./scripts/verify-webhook-signature.sh --delivery=ID`: re-checks what we sent a merchant."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from tests.webhooks.helpers import attempt_at, endpoint_for, publish
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.outbound.relay import outbox_relay
from webhooks.outbound.signing import signature_explain

pytestmark = pytest.mark.django_db


def test_a_delivered_attempt_verifies_and_a_tampered_one_says_why(merchant, receiver, capsys):
    created = endpoint_for(merchant, receiver.url())
    event = publish(merchant, "payment.completed")
    now = timezone.now()
    outbox_relay(now=now)
    delivery = WebhookDelivery.objects.get(event=event)
    attempt_at(delivery, now)

    call_command("verify_webhook_signature", f"--delivery={delivery.id}")
    assert capsys.readouterr().out.startswith(f"VALID   delivery {delivery.id}")

    WebhookAttempt.objects.filter(delivery=delivery).update(request_body='{"tampered": true}')
    with pytest.raises(CommandError, match="does not verify"):
        call_command("verify_webhook_signature", f"--delivery={delivery.id}")
    assert "body, id or timestamp changed" in capsys.readouterr().out
    assert created.secret  # the endpoint's own secret was used, not one given


@pytest.mark.parametrize(
    ("header", "message_id", "timestamp", "why"),
    [
        ("", "msg_1", "1700000000", "no webhook-signature header"),
        ("v1,abc", "", "1700000000", "webhook-id or webhook-timestamp"),
        ("v2,abc", "msg_1", "1700000000", "no v1,<base64> signature"),
    ],
)
def test_malformed_messages_are_explained(header, message_id, timestamp, why):
    ok, explanation = signature_explain(
        signing_secrets=["whsec_" + "A" * 44],
        message_id=message_id,
        timestamp=timestamp,
        body="{}",
        header=header,
    )

    assert not ok
    assert why in explanation
