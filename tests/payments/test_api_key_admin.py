"""API keys from the back office: generated with the secret shown once, rotated with a grace
period, revoked with a reason; only with payment:configure."""

import pytest
from django.test import Client

from audit.models import AuditLog
from compliance.operators import operator_create
from payments.models import ApiKey
from payments.services.api_keys import api_key_authenticate, api_key_issue
from tests.conftest import operator_login

pytestmark = pytest.mark.django_db
KEYS = "/admin/payments/apikey/"


def signed_in(role: str) -> Client:
    created = operator_create(
        username=f"keys-{role}", email="k@example.com", role=role, password="keys-pass-2024"
    )
    client = Client()
    operator_login(client, created.user)
    return client


def test_an_admin_generates_a_key_and_sees_its_secret_once(merchant):
    client = signed_in("payment-admin")

    response = client.post(
        f"{KEYS}generate/",
        {"merchant": merchant.pk, "mode": "test", "scopes": ["payment:read"], "name": "shop"},
    )

    page = response.content.decode()
    assert "no-store" in response["Cache-Control"]
    secret = page.split('<code class="secret">')[1].split("</code>")[0]
    assert secret.startswith("sk_test_")
    assert api_key_authenticate(secret=secret).scopes == ["payment:read"]
    assert secret not in client.get(KEYS).content.decode()
    assert AuditLog.objects.filter(action="api_key.created").exists()


def test_rotating_shows_the_new_secret_and_keeps_the_old_key_for_the_grace(merchant):
    old = api_key_issue(merchant=merchant, scopes=["payment:read"])
    client = signed_in("payment-admin")

    confirm = client.post(KEYS, {"action": "rotate_keys", "_selected_action": [old.api_key.pk]})
    done = client.post(
        KEYS,
        {
            "action": "rotate_keys",
            "_selected_action": [old.api_key.pk],
            "apply": "1",
            "grace_hours": "2",
        },
    )

    assert b"grace_hours" in confirm.content
    new_secret = done.content.decode().split('<code class="secret">')[1].split("</code>")[0]
    assert api_key_authenticate(secret=new_secret).merchant == merchant
    assert api_key_authenticate(secret=old.secret)  # still valid during the grace period
    assert ApiKey.objects.get(pk=old.api_key.pk).replaced_by is not None


def test_revoking_needs_a_reason_and_takes_effect_at_once(merchant):
    issued = api_key_issue(merchant=merchant, scopes=["payment:read"])
    client = signed_in("payment-admin")

    client.post(
        KEYS,
        {
            "action": "revoke_keys",
            "_selected_action": [issued.api_key.pk],
            "apply": "1",
            "reason": "leaked in a ticket",
        },
    )

    assert ApiKey.objects.get(pk=issued.api_key.pk).revoked_at is not None
    assert (
        AuditLog.objects.get(action="api_key.revoked").new_value["reason"] == "leaked in a ticket"
    )


@pytest.mark.parametrize("role", ["payment-operator", "payment-viewer", "auditor"])
def test_other_roles_can_list_keys_but_not_manage_them(role, merchant):
    issued = api_key_issue(merchant=merchant, scopes=["payment:read"])
    client = signed_in(role)

    generate = client.get(f"{KEYS}generate/")
    client.post(
        KEYS,
        {
            "action": "revoke_keys",
            "_selected_action": [issued.api_key.pk],
            "apply": "1",
            "reason": "not allowed",
        },
    )

    assert generate.status_code == 403
    assert ApiKey.objects.get(pk=issued.api_key.pk).revoked_at is None
