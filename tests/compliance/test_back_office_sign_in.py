"""Signing in to the back office needs the password and the TOTP code (PCI DSS 8.4); a
session without the second factor sees nothing."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import SecurityEvent
from compliance.roles import roles_sync
from payments.models import Payment

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-password-123"


@pytest.fixture
def operator():
    user = get_user_model().objects.create_user(
        "otp-operator", password=PASSWORD, is_staff=True, is_superuser=True
    )
    device = TOTPDevice.objects.create(user=user, name="default", confirmed=True)
    return user, device


def sign_in(client, token: str):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": "otp-operator", "password": PASSWORD, "otp_token": token},
    )


def test_password_and_the_current_totp_code_open_the_back_office(client, operator):
    _, device = operator

    response = sign_in(client, str(totp(device.bin_key)).zfill(6))

    assert response.status_code == 302, response.content.decode()[-2000:]
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("token", ["", "000000", "12345"])
def test_a_wrong_or_missing_code_does_not_sign_in(client, operator, token):
    response = sign_in(client, token)

    assert response.status_code == 200  # the form again
    assert client.get("/admin/").status_code == 302


def test_a_session_with_only_the_password_sees_no_data(client, operator):
    user, _ = operator
    client.force_login(user)  # password checked, TOTP step skipped

    for url in ("/admin/", "/admin/payments/payment/", "/admin/audit/auditlog/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    assert Payment.objects.count() == 0  # nothing to leak, and nothing was shown


def test_sign_ins_and_role_changes_are_security_events(client, operator):
    user, device = operator
    sign_in(client, str(totp(device.bin_key)).zfill(6))
    roles_sync()
    user.groups.add(Group.objects.get(name="payment-viewer"))
    user.groups.remove(Group.objects.get(name="payment-viewer"))

    events = list(SecurityEvent.objects.order_by("id").values_list("event_type", "details"))
    assert ("auth.login_succeeded", {"username": "otp-operator"}) in events
    changes = [details for kind, details in events if kind == "operator.role_changed"]
    assert [c["change"] for c in changes] == ["add", "remove"]
    assert changes[0]["roles"] == ["payment-viewer"] and changes[1]["roles"] == []
