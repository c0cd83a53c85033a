"""Gateway accounts: credentials sealed in the vault and never readable back, validated per
provider, audited without their values; and the runbook's credential check."""

import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit.models import AuditLog
from payments.errors import InvalidRequest
from payments.services.gateway_accounts import gateway_account_save, gateway_account_verify
from payments.services.routing import account_credentials, gateway_for
from tests.subprocesses import child_env

ROOT = Path(__file__).resolve().parents[2]
SECRET = "sk_test_verysecretvalue123"
pytestmark = pytest.mark.django_db


def test_credentials_are_sealed_and_only_the_gateway_client_sees_them(merchant):
    account = gateway_account_save(
        merchant=merchant, gateway="stripe", credentials={"api_key": SECRET}
    )

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM gateway_accounts")
        stored = repr(cursor.fetchall())
    assert SECRET not in stored
    assert account_credentials(account) == {"api_key": SECRET}
    audit = AuditLog.objects.get(action="gateway_account.saved")
    assert audit.new_value["credentials_set"] == ["api_key"]
    assert SECRET not in repr(audit.new_value)


@pytest.mark.parametrize(
    ("gateway", "credentials"),
    [
        ("stripe", {}),
        ("stripe", {"api_key": ""}),
        ("stripe", {"api_key": SECRET, "extra": "x"}),
        ("paypal", {"client_id": "abc"}),
    ],
)
def test_credentials_must_have_exactly_the_providers_fields(merchant, gateway, credentials):
    with pytest.raises(InvalidRequest) as refused:
        gateway_account_save(merchant=merchant, gateway=gateway, credentials=credentials)

    assert refused.value.param == "credentials"


def test_an_unknown_provider_is_refused(merchant):
    with pytest.raises(InvalidRequest):
        gateway_account_save(merchant=merchant, gateway="acme-pay")


def test_saving_again_updates_routing_and_keeps_credentials(merchant):
    gateway_account_save(merchant=merchant, gateway="stripe", credentials={"api_key": SECRET})
    account = gateway_account_save(merchant=merchant, gateway="stripe", priority=5)

    assert account.priority == 5
    assert account_credentials(account) == {"api_key": SECRET}


def test_verify_reports_a_missing_credential_without_calling_anyone(merchant):
    account = gateway_account_save(merchant=merchant, gateway="stripe")

    assert gateway_account_verify(account) == (False, "no credentials configured")


def test_verify_command_prints_a_verdict_per_account_and_fails_if_any_fails(merchant, capsys):
    gateway_account_save(merchant=merchant, gateway="sandbox")
    gateway_account_save(merchant=merchant, gateway="stripe")

    with pytest.raises(CommandError, match="1 gateway account"):
        call_command("verify_gateway_credentials")

    out = capsys.readouterr().out
    assert "OK   acme sandbox test: sandbox (no credentials needed)" in out
    assert "FAIL acme stripe test: no credentials configured" in out


def test_the_sandbox_client_is_shared(merchant):
    account = gateway_account_save(merchant=merchant, gateway="sandbox")

    assert gateway_for(account) is gateway_for(account)


@pytest.mark.django_db(transaction=True)
def test_the_runbook_script_checks_credentials(merchant):
    gateway_account_save(merchant=merchant, gateway="sandbox")

    result = subprocess.run(
        [str(ROOT / "scripts" / "verify-gateway-credentials.sh")],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert "OK   acme sandbox test" in result.stdout
