"""The runbook's containment step: emergency-block-ip.sh / emergency-unblock-ip.sh (management
commands block_ip / unblock_ip underneath)."""

import datetime as dt
import io
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from audit.models import AuditLog, SecurityEvent
from fraud.ip_blocks import brute_force_check
from fraud.models import IpBlock
from tests.fraud.threats import ATTACKER_IP, ATTACKER_IPV6, fail_api_key, list_payments_from
from tests.subprocesses import child_env

ROOT = Path(__file__).resolve().parents[2]


def run(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def test_block_ip_blocks_at_once_for_the_given_time_and_is_audited(api_key):
    output = run("block_ip", f"--ip={ATTACKER_IP}", "--reason=card testing", "--expires-in=1h")

    block = IpBlock.objects.get()
    assert f"Blocked {ATTACKER_IP} until " in output
    assert (block.source, block.reason) == ("operator", "card testing")
    assert block.created_by.startswith("cli:")
    assert block.blocked_until == pytest.approx(
        timezone.now() + dt.timedelta(hours=1), abs=dt.timedelta(seconds=5)
    )
    assert list_payments_from(ATTACKER_IP, api_key.secret) == 403
    audit = AuditLog.objects.get(action="ip_block.created")
    assert audit.user_id == block.created_by and audit.actor_type == "cli"
    assert audit.new_value["reason"] == "card testing"
    event = SecurityEvent.objects.get(event_type="ip.blocked")
    assert (str(event.ip_address), event.user_id) == (ATTACKER_IP, block.created_by)


def test_block_ip_without_expiry_blocks_until_lifted(db):
    output = run("block_ip", f"--ip={ATTACKER_IPV6}")

    assert f"Blocked {ATTACKER_IPV6} until lifted" in output
    assert IpBlock.objects.get().blocked_until is None


def test_blocking_an_already_blocked_ip_again_changes_nothing(db):
    run("block_ip", f"--ip={ATTACKER_IP}")

    output = run("block_ip", f"--ip={ATTACKER_IP}", "--expires-in=2h")

    assert "already blocked until lifted" in output
    assert IpBlock.objects.count() == 1
    assert AuditLog.objects.filter(action="ip_block.created").count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ip=203.0.113.0/24"], "not an IP address"),
        (["--ip=malicious-ip"], "not an IP address"),
        ([f"--ip={ATTACKER_IP}", "--expires-in=soon"], "Invalid duration"),
        ([f"--ip={ATTACKER_IP}", "--expires-in=0h"], "must end in the future"),
    ],
)
def test_block_ip_refuses_bad_input_and_changes_nothing(db, args, message):
    with pytest.raises(CommandError, match=message):
        run("block_ip", *args)

    assert not IpBlock.objects.exists()
    assert not AuditLog.objects.exists()


def test_unblock_ip_lifts_every_active_block_and_is_audited(brute_force_rule, api_key):
    fail_api_key(ATTACKER_IP, 6)  # the rule's block
    run("block_ip", f"--ip={ATTACKER_IP}")  # and an operator's, until lifted

    output = run("unblock_ip", f"--ip={ATTACKER_IP}", "--reason=customer's office NAT")

    assert f"Unblocked {ATTACKER_IP}" in output
    assert list_payments_from(ATTACKER_IP, api_key.secret) == 200
    blocks = IpBlock.objects.all()
    assert len(blocks) == 2
    assert all(block.lifted_at and block.lifted_by.startswith("cli:") for block in blocks)
    lifted = AuditLog.objects.filter(action="ip_block.lifted")
    assert lifted.count() == 2
    assert {row.new_value["lift_reason"] for row in lifted} == {"customer's office NAT"}
    assert SecurityEvent.objects.filter(event_type="ip.unblocked").count() == 1


def test_after_a_lift_the_earlier_failures_do_not_block_again(brute_force_rule):
    fail_api_key(ATTACKER_IP, 6)
    run("unblock_ip", f"--ip={ATTACKER_IP}")

    assert fail_api_key(ATTACKER_IP, 1) == [401]
    assert brute_force_check(ip_address=ATTACKER_IP) is None
    assert IpBlock.objects.count() == 1


def test_unblock_ip_of_an_ip_that_is_not_blocked_says_so(db):
    output = run("unblock_ip", f"--ip={ATTACKER_IP}")

    assert "is not blocked; nothing changed" in output
    assert not AuditLog.objects.exists()


def script(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / "scripts" / name), *args],
        cwd=cwd,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.django_db(transaction=True)
def test_runbook_scripts_block_and_unblock_an_ip_from_any_working_directory(tmp_path, api_key):
    blocked = script(
        "emergency-block-ip.sh", f"--ip={ATTACKER_IP}", "--reason=INC-2024-001", cwd=tmp_path
    )

    assert blocked.returncode == 0, blocked.stderr
    assert f"Blocked {ATTACKER_IP} until lifted" in blocked.stdout
    assert list_payments_from(ATTACKER_IP, api_key.secret) == 403

    unblocked = script("emergency-unblock-ip.sh", f"--ip={ATTACKER_IP}", cwd=tmp_path)

    assert unblocked.returncode == 0, unblocked.stderr
    assert f"Unblocked {ATTACKER_IP}" in unblocked.stdout
    assert IpBlock.objects.get().lifted_at is not None
    actions = AuditLog.objects.filter(user_id__startswith="cli:").values_list("action", flat=True)
    assert sorted(actions) == ["ip_block.created", "ip_block.lifted"]


@pytest.mark.django_db(transaction=True)
def test_runbook_script_refuses_an_invalid_ip_with_a_clear_message(tmp_path):
    result = script("emergency-block-ip.sh", "--ip=malicious-ip", cwd=tmp_path)

    assert result.returncode != 0
    assert "not an IP address" in result.stderr
    assert "Traceback" not in result.stderr
