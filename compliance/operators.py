"""Onboarding back-office operators: a user with one role and a TOTP device, audited."""

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import AbstractUser, Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice
from guardian.shortcuts import assign_perm

from audit.scoping import SCOPE_APP, SCOPE_CODENAME
from audit.services import audit_record
from compliance.roles import ROLES, roles_sync
from payments.models import Merchant


class OperatorError(Exception):
    """What is wrong with the request, in words for the person running the command."""


@dataclass(frozen=True)
class NewOperator:
    user: AbstractUser
    password: str | None  # only when we generated it: shown once
    totp_uri: str  # otpauth://totp/…, shown once


def operator_create(
    *,
    username: str,
    email: str,
    role: str,
    password: str | None = None,
    merchants: Sequence[Merchant] = (),
) -> NewOperator:
    """A staff user in exactly one role, with a confirmed TOTP device. The password (given or
    generated) must pass the password policy (≥ 12 characters, letters and digits)."""
    if role not in ROLES:
        raise OperatorError(f"role must be one of {', '.join(ROLES)}")
    user_model = get_user_model()
    if user_model.objects.filter(username=username).exists():
        raise OperatorError(f"an operator named {username!r} exists already")
    generated = password is None
    password = password or _generated_password()
    user = user_model(username=username, email=email, is_staff=True, is_active=True)
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise OperatorError(" ".join(exc.messages)) from exc
    roles_sync()  # the group exists with its permissions, whatever ran before
    with transaction.atomic():
        user.set_password(password)
        user.save()
        user.groups.set([Group.objects.get(name=role)])
        device = TOTPDevice.objects.create(user=user, name="default", confirmed=True)
        for merchant in merchants:  # limited to these merchants (audit.scoping)
            assign_perm(f"{SCOPE_APP}.{SCOPE_CODENAME}", user, merchant)
        audit_record(
            action="operator.created",
            resource_type="user",
            resource_id=str(user.pk),
            new={
                "username": username,
                "email": email,
                "role": role,
                "merchants": [merchant.id for merchant in merchants] or "all",
            },
        )
    return NewOperator(user, password if generated else None, device.config_url)


def _generated_password() -> str:
    # 20 URL-safe characters plus a guaranteed letter and digit: always passes the policy.
    return f"{secrets.token_urlsafe(15)}a7"


def demo_login_ensure(*, username: str, role: str | None, password: str | None) -> tuple[str, str]:
    """For `make run`'s demo: the login exists with this password (generated if none), in
    `role` (None: a superuser), with a TOTP device. Idempotent. Returns (password, TOTP URI)."""
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    if user is None or password is None or not user.check_password(password):
        password = password or _generated_password()
        user = user or user_model(username=username, email=f"{username}@paydesk.invalid")
        user.is_staff = True
        user.is_superuser = role is None
        user.set_password(password)
        user.save()
    if role is not None:
        roles_sync()
        user.groups.set([Group.objects.get(name=role)])
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="default", confirmed=True)
    return password, device.config_url
