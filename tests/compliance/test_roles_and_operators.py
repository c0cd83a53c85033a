"""The runbook's roles as Django groups, and onboarding an operator into one of them."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditLog, SecurityEvent
from compliance.roles import ROLES, roles_sync

pytestmark = pytest.mark.django_db


def permissions(role: str) -> set[str]:
    group = Group.objects.get(name=role)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}


def test_the_four_roles_exist_after_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLES)


@pytest.mark.parametrize(
    ("role", "has", "lacks"),
    [
        (
            "payment-admin",
            {
                "payments.view_payment",
                "payments.refund_payment",
                "payments.review_payment",
                "payments.configure_gateways",
                "fraud.change_fraudrule",
                "audit.view_auditlog",
            },
            {"compliance.export_compliance"},
        ),
        (
            "payment-operator",
            {"payments.view_payment", "payments.refund_payment", "audit.view_auditlog"},
            {"payments.review_payment", "payments.configure_gateways", "fraud.change_fraudrule"},
        ),
        (
            "payment-viewer",
            {
                "payments.view_payment",
                "payments.view_refund",
                "fraud.view_fraudcheck",
                "audit.view_securityevent",
            },
            {"payments.refund_payment", "payments.review_payment", "fraud.change_ipblock"},
        ),
        (
            "auditor",
            {"payments.view_payment", "audit.view_auditlog", "compliance.export_compliance"},
            {"payments.refund_payment", "payments.configure_gateways"},
        ),
    ],
)
def test_each_role_holds_exactly_its_runbook_permissions(role, has, lacks):
    held = permissions(role)

    assert has <= held
    assert not lacks & held


def test_syncing_is_idempotent_and_repairs_drift():
    viewer = Group.objects.get(name="payment-viewer")
    before = permissions("payment-viewer")
    viewer.permissions.clear()

    roles_sync()
    roles_sync()

    assert permissions("payment-viewer") == before


def test_create_operator_prints_the_totp_uri_once_and_the_code_verifies(capsys):
    call_command(
        "create_operator",
        "--username",
        "olga",
        "--email",
        "olga@example.com",
        "--role",
        "payment-operator",
    )

    out = capsys.readouterr().out
    user = get_user_model().objects.get(username="olga")
    assert (user.is_staff, list(user.groups.values_list("name", flat=True))) == (
        True,
        ["payment-operator"],
    )
    uri = re.search(r"otpauth://totp/\S+", out).group(0)
    password = re.search(r"Password \(shown once\): (\S+)", out).group(1)
    assert user.check_password(password)
    device = TOTPDevice.objects.get(user=user)
    assert device.config_url == uri
    assert device.verify_token(totp(device.bin_key))
    assert user.has_perm("payments.refund_payment")
    assert not user.has_perm("payments.configure_gateways")
    assert AuditLog.objects.filter(action="operator.created").exists()
    assert SecurityEvent.objects.filter(event_type="operator.role_changed").exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--role", "payment-admin", "--password", "short1"], "at least 12 characters"),
        (["--role", "payment-admin", "--password", "onlylettersherenow"], "letters and digits"),
        (["--role", "payment-admin", "--password", "123456789012345"], "letters and digits"),
    ],
)
def test_create_operator_refuses_weak_passwords(arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command(
            "create_operator", "--username", "weak", "--email", "w@example.com", *arguments
        )

    assert not get_user_model().objects.filter(username="weak").exists()


def test_create_operator_refuses_a_taken_username_and_unknown_roles():
    call_command(
        "create_operator", "--username", "ann", "--email", "a@example.com", "--role", "auditor"
    )

    with pytest.raises(CommandError, match="exists already"):
        call_command(
            "create_operator", "--username", "ann", "--email", "b@example.com", "--role", "auditor"
        )
    with pytest.raises(CommandError):
        call_command(
            "create_operator", "--username", "bob", "--email", "b@example.com", "--role", "root"
        )
