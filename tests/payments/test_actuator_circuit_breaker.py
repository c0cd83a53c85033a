"""The runbook's emergency switch: POST /actuator/circuit-breaker/enable (and /disable, and
per gateway), admin credentials required, audited."""

import base64

import pytest
from django.contrib.auth.models import Permission, User

from audit.models import AuditLog, SecurityEvent
from payments.models import GatewayBreaker
from tests.conftest import create_payment

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-password-123"


def basic(username: str, password: str = PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


@pytest.fixture
def admin_user():
    user = User.objects.create_user("gw-admin", password=PASSWORD, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="configure_gateways"))
    return user


def test_enable_forces_every_breaker_open_and_payments_fail_fast(client, admin_user, api_client):
    response = client.post("/actuator/circuit-breaker/enable", **basic("gw-admin"))

    assert response.status_code == 200
    states = response.json()["gateways"]
    assert set(states) >= {"sandbox", "stripe", "paypal"}
    assert {state["state"] for state in states.values()} == {"open"}
    paid = create_payment(api_client)
    assert paid.status_code == 503
    assert paid.json()["error"]["payment"]["error_code"] == "gateway_circuit_open"
    audit = AuditLog.objects.filter(action="gateway_breaker.overridden", resource_id="sandbox")
    assert audit.get().user_id == "user:gw-admin"


def test_disable_gives_the_breakers_back_to_the_rules(client, admin_user, api_client):
    client.post("/actuator/circuit-breaker/enable", **basic("gw-admin"))

    response = client.post("/actuator/circuit-breaker/disable", **basic("gw-admin"))

    assert {state["state"] for state in response.json()["gateways"].values()} == {"closed"}
    assert GatewayBreaker.objects.filter(override="").count() == GatewayBreaker.objects.count()
    assert create_payment(api_client).status_code == 201


def test_one_gateway_can_be_switched_alone(client, admin_user):
    response = client.post("/actuator/circuit-breaker/stripe/enable", **basic("gw-admin"))

    assert response.json()["gateways"] == {
        "stripe": {"state": "open", "rules": "closed", "override": "forced_open"}
    }
    listed = client.get("/actuator/circuit-breaker", **basic("gw-admin")).json()["gateways"]
    assert (listed["stripe"]["state"], listed["sandbox"]["state"]) == ("open", "closed")
    assert (
        client.post("/actuator/circuit-breaker/nope/enable", **basic("gw-admin")).status_code == 404
    )


def test_without_credentials_or_permission_nothing_changes(client, admin_user):
    User.objects.create_user("viewer", password=PASSWORD, is_staff=True)

    anonymous = client.post("/actuator/circuit-breaker/enable")
    wrong_password = client.post("/actuator/circuit-breaker/enable", **basic("gw-admin", "nope"))
    no_permission = client.post("/actuator/circuit-breaker/enable", **basic("viewer"))

    assert (anonymous.status_code, wrong_password.status_code) == (401, 401)
    assert anonymous["WWW-Authenticate"].startswith("Basic")
    assert no_permission.status_code == 403
    assert not GatewayBreaker.objects.exists()
    assert set(SecurityEvent.objects.values_list("event_type", flat=True)) == {
        "actuator_auth_failed",
        "actuator_permission_denied",
        "auth.login_failed",  # the wrong password, as at every sign-in
    }


def test_only_enable_and_disable_are_actions(client, admin_user):
    assert client.post("/actuator/circuit-breaker/open", **basic("gw-admin")).status_code == 404
    assert client.get("/actuator/circuit-breaker/enable", **basic("gw-admin")).status_code == 405
