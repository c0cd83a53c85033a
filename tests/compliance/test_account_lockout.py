"""PCI DSS 8.3.4: ten failed sign-ins lock the account for 30 minutes, whatever address they
come from (the brute-force rule blocks a single address sooner)."""

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import SecurityEvent

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-password-123"


@pytest.fixture
def device():
    user = get_user_model().objects.create_user(
        "locked-op", password=PASSWORD, is_staff=True, is_superuser=True
    )
    return TOTPDevice.objects.create(user=user, name="default", confirmed=True)


def sign_in(password: str, device, *, from_ip: str):
    return Client(REMOTE_ADDR=from_ip).post(
        "/admin/login/",
        {
            "username": "locked-op",
            "password": password,
            "otp_token": str(totp(device.bin_key)).zfill(6),
        },
    )


def test_ten_failures_from_many_addresses_lock_the_account_for_thirty_minutes(device):
    for attempt in range(10):
        sign_in("wrong-password-1", device, from_ip=f"198.51.100.{attempt + 1}")

    locked = sign_in(PASSWORD, device, from_ip="198.51.100.200")

    assert locked.status_code == 429
    assert SecurityEvent.objects.filter(event_type="auth.locked_out").exists()
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31))
    assert sign_in(PASSWORD, device, from_ip="198.51.100.201").status_code == 302


def test_nine_failures_do_not_lock_and_a_success_resets_the_count(device):
    for attempt in range(9):
        sign_in("wrong-password-1", device, from_ip=f"198.51.100.{attempt + 1}")

    assert sign_in(PASSWORD, device, from_ip="198.51.100.100").status_code == 302
    assert not AccessAttempt.objects.filter(
        username="locked-op", failures_since_start__gt=0
    ).exists()
