"""The runbook's key commands: generate, rotate, revoke (management commands and scripts)."""

import datetime as dt
import io
import re
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditLog
from payments.models import ApiKey, Merchant
from tests.subprocesses import child_env

ROOT = Path(__file__).resolve().parents[2]
SECRET = re.compile(r"sk_(?:test|live)_[A-Za-z0-9]{32}")


def run(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def list_payments(secret: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client.get("/api/v1/payments").status_code


@pytest.mark.django_db
def test_generate_api_key_creates_the_client_and_prints_a_working_scoped_key():
    output = run(
        "generate_api_key", "--client=merchant-123", "--scopes=payment:create,payment:read"
    )

    secret = SECRET.search(output).group(0)
    api_key = ApiKey.objects.get(merchant__slug="merchant-123")
    assert secret.startswith("sk_test_")
    assert api_key.scopes == ["payment:create", "payment:read"]
    assert secret not in api_key.key_hash and api_key.key_hash != secret
    assert list_payments(secret) == 200
    assert AuditLog.objects.filter(action="api_key.created", user_id__startswith="cli:").exists()


@pytest.mark.django_db
def test_generate_api_key_refuses_unknown_scopes_and_changes_nothing():
    with pytest.raises(CommandError, match="Unknown or missing scopes"):
        run("generate_api_key", "--client=merchant-9", "--scopes=payment:create,payment:steal")

    assert not ApiKey.objects.exists()


@pytest.mark.django_db
def test_revoke_api_key_by_secret_makes_the_key_fail_with_401():
    secret = SECRET.search(run("generate_api_key", "--client=acme", "--scopes=payment:read")).group(
        0
    )

    output = run("revoke_api_key", f"--key={secret}", "--reason=leaked")

    assert "Revoked" in output
    assert list_payments(secret) == 401
    revoked = AuditLog.objects.get(action="api_key.revoked")
    assert revoked.new_value["reason"] == "leaked"


@pytest.mark.django_db
def test_revoke_api_key_with_an_unknown_key_says_so():
    with pytest.raises(CommandError, match="No such API key"):
        run("revoke_api_key", "--key=sk_live_doesnotexist")


@pytest.mark.django_db
def test_rotate_api_keys_replaces_old_keys_and_the_old_one_expires_after_the_grace():
    old_secret = SECRET.search(
        run("generate_api_key", "--client=acme", "--scopes=payment:read,payment:create")
    ).group(0)
    fresh_secret = SECRET.search(
        run("generate_api_key", "--client=acme", "--scopes=payment:read")
    ).group(0)
    ApiKey.objects.filter(scopes__contains=["payment:create"]).update(
        created_at=timezone.now() - dt.timedelta(days=91)
    )

    output = run("rotate_api_keys", "--older-than=90d", "--grace=24h")

    new_secret = SECRET.search(output.split("new secret")[1]).group(0)
    old = ApiKey.objects.get(scopes__contains=["payment:create"], replaced_by__isnull=False)
    assert old.replaced_by.scopes == old.scopes
    assert (
        timezone.now() + dt.timedelta(hours=23)
        < old.expires_at
        <= timezone.now() + dt.timedelta(hours=24)
    )
    assert list_payments(old_secret) == 200  # still inside the grace period
    assert list_payments(new_secret) == 200
    assert list_payments(fresh_secret) == 200  # younger than 90 days: untouched
    assert "1 key(s) rotated" in output

    ApiKey.objects.filter(pk=old.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert list_payments(old_secret) == 401


@pytest.mark.django_db
def test_rotate_api_keys_dry_run_changes_nothing():
    run("generate_api_key", "--client=acme", "--scopes=payment:read")
    ApiKey.objects.update(created_at=timezone.now() - dt.timedelta(days=100))

    output = run("rotate_api_keys", "--older-than=90d", "--dry-run")

    assert "Would rotate" in output
    assert ApiKey.objects.count() == 1
    assert ApiKey.objects.get().expires_at is None


@pytest.mark.django_db(transaction=True)
def test_runbook_script_generates_a_key_from_any_working_directory(tmp_path):
    result = subprocess.run(
        [
            str(ROOT / "scripts" / "generate-api-key.sh"),
            "--client=merchant-123",
            "--scopes=payment:create,payment:read",
        ],
        cwd=tmp_path,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    secret = SECRET.search(result.stdout).group(0)
    assert Merchant.objects.filter(slug="merchant-123").exists()
    assert list_payments(secret) == 200
