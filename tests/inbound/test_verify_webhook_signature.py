"""`./scripts/verify-webhook-signature.sh`: checks a stored or given payload and says why."""

import json
import subprocess
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from payments.gateways.stripe_gateway import stripe_signature_explain
from tests.inbound.stripe_events import SECRET, event, post, signed
from tests.subprocesses import child_env
from webhooks.models import WebhookLog

ROOT = Path(__file__).resolve().parents[2]
BODY = b'{"id": "evt_1", "type": "customer.created"}'


@pytest.mark.parametrize(
    ("header", "secret", "valid", "why"),
    [
        ("", SECRET, False, "no Stripe-Signature header"),
        (signed(BODY), "", False, "no secret to check against"),
        ("v1=abc", SECRET, False, "no t=<unix time>"),
        (f"t={int(time.time())}", SECRET, False, "no v1= signature"),
        (signed(BODY, secret="whsec_other"), SECRET, False, "signed with another secret"),
        (signed(BODY, timestamp=int(time.time()) - 3600), SECRET, True, "past the 300 s"),
        (signed(BODY), SECRET, True, "signature valid (signed "),
    ],
)
def test_it_says_why_a_signature_fails(header, secret, valid, why):
    ok, explanation = stripe_signature_explain(BODY, header, secret, now=time.time())

    assert ok is valid
    assert why in explanation


def test_a_changed_body_is_explained():
    ok, explanation = stripe_signature_explain(BODY + b" ", signed(BODY), SECRET, now=time.time())

    assert not ok
    assert "body was changed" in explanation


@pytest.mark.django_db
def test_a_stored_webhook_is_checked_by_id(client, settings, capsys):
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    post(client, event("customer.created", {"id": "cus_1"}))
    post(client, event("customer.created", {"id": "cus_2"}), secret="whsec_wrong")
    good, bad = WebhookLog.objects.order_by("id")

    call_command("verify_webhook_signature", f"--log={good.id}")
    assert capsys.readouterr().out.startswith(f"VALID   webhook #{good.id} (customer.created")
    with pytest.raises(CommandError, match="does not verify"):
        call_command("verify_webhook_signature", f"--log={bad.id}")
    assert "signed with another secret" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_the_runbook_script_checks_a_given_payload(tmp_path):
    payload = tmp_path / "body.json"
    payload.write_bytes(json.dumps({"id": "evt_x"}).encode())

    result = subprocess.run(
        [
            str(ROOT / "scripts" / "verify-webhook-signature.sh"),
            f"--payload={payload}",
            f"--signature={signed(payload.read_bytes())}",
            f"--secret={SECRET}",
        ],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("VALID")
