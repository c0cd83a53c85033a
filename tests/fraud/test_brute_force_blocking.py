"""The runbook's Brute Force Detection rule: more than 5 failed authentications within 5 minutes
from one IP block it for an hour, on the API and in the back office."""

import datetime as dt
import json
import urllib.error
import urllib.request

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditLog, SecurityEvent
from fraud.ip_blocks import ip_block_cache_forget
from fraud.models import IpBlock
from tests.concurrency import run_concurrently
from tests.fraud.threats import (
    ATTACKER_IP,
    ATTACKER_IPV6,
    OTHER_IP,
    api_client_from,
    fail_api_key,
    list_payments_from,
)

pytestmark = pytest.mark.usefixtures("brute_force_rule")

IP_BLOCKED = {
    "error": {
        "type": "permission_error",
        "code": "ip_blocked",
        "message": "Requests from your IP address are blocked.",
        "param": None,
    }
}


def fail_login(ip: str, times: int) -> None:
    client = Client(REMOTE_ADDR=ip)
    for _ in range(times):
        response = client.post(
            "/admin/login/", {"username": "admin", "password": "not-the-password"}
        )
        assert response.status_code == 200  # the form again, with an error


def test_sixth_failed_api_key_blocks_the_ip_and_then_even_a_valid_key_gets_403(api_key):
    assert fail_api_key(ATTACKER_IP, 6) == [401] * 6

    response = api_client_from(ATTACKER_IP, api_key.secret).get("/api/v1/payments")

    assert response.status_code == 403
    assert response.json() == IP_BLOCKED
    assert response["X-Request-Id"]
    block = IpBlock.objects.get()
    assert (str(block.ip_address), block.source, block.created_by) == (
        ATTACKER_IP,
        "rule",
        "system",
    )
    assert block.blocked_until == pytest.approx(
        block.created_at + dt.timedelta(hours=1), abs=dt.timedelta(seconds=1)
    )
    assert "Brute Force Detection" in block.reason


def test_five_failures_are_not_enough_to_block(api_key):
    assert fail_api_key(ATTACKER_IP, 5) == [401] * 5

    assert list_payments_from(ATTACKER_IP, api_key.secret) == 200
    assert not IpBlock.objects.exists()


def test_a_block_does_not_affect_other_ips(api_key):
    fail_api_key(ATTACKER_IP, 6)

    assert list_payments_from(ATTACKER_IP, api_key.secret) == 403
    assert list_payments_from(OTHER_IP, api_key.secret) == 200
    assert list_payments_from(OTHER_IP) == 401  # still just a wrong key there


def test_the_block_expires_after_block_seconds(api_key):
    fail_api_key(ATTACKER_IP, 6)
    assert list_payments_from(ATTACKER_IP, api_key.secret) == 403

    # An hour passes: the block's end moves into the past, and so does its cached copy's.
    IpBlock.objects.update(blocked_until=timezone.now() - dt.timedelta(seconds=1))
    ip_block_cache_forget(ATTACKER_IP)

    assert list_payments_from(ATTACKER_IP, api_key.secret) == 200
    assert list_payments_from(ATTACKER_IP) == 401  # the old burst was answered: no new block
    assert IpBlock.objects.count() == 1


def test_blocking_records_one_security_event_and_one_audit_row_by_the_system():
    fail_api_key(ATTACKER_IP, 8)

    block = IpBlock.objects.get()
    event = SecurityEvent.objects.get(event_type="ip.blocked")
    assert str(event.ip_address) == ATTACKER_IP
    assert event.details["block_id"] == block.pk
    assert event.details["rule"] == "Brute Force Detection"
    assert event.details["source"] == "rule"
    audit = AuditLog.objects.get(action="ip_block.created")
    assert (audit.user_id, audit.actor_type) == ("system", "system")
    assert (audit.resource_type, audit.resource_id) == ("ip_block", str(block.pk))
    assert audit.new_value["ip_address"] == ATTACKER_IP
    assert str(audit.ip_address) == ATTACKER_IP  # the request that tipped it over
    assert SecurityEvent.objects.filter(event_type="auth.api_key_failed").count() == 6


def test_failures_outside_the_window_do_not_count(api_key):
    fail_api_key(ATTACKER_IP, 5)
    SecurityEvent.objects.update(created_at=timezone.now() - dt.timedelta(minutes=6))

    assert fail_api_key(ATTACKER_IP, 5) == [401] * 5

    assert list_payments_from(ATTACKER_IP, api_key.secret) == 200


def test_a_disabled_rule_blocks_nothing(brute_force_rule, api_key):
    brute_force_rule.enabled = False
    brute_force_rule.save()

    assert fail_api_key(ATTACKER_IP, 10) == [401] * 10

    assert list_payments_from(ATTACKER_IP, api_key.secret) == 200
    assert not IpBlock.objects.exists()


def test_the_rule_parameters_are_read_from_the_rule(brute_force_rule):
    brute_force_rule.parameters = {"max_count": 2, "window_seconds": 60, "block_seconds": 120}
    brute_force_rule.save()

    assert fail_api_key(ATTACKER_IP, 4) == [401, 401, 401, 403]

    block = IpBlock.objects.get()
    assert block.blocked_until - block.created_at == pytest.approx(
        dt.timedelta(seconds=120), abs=dt.timedelta(seconds=1)
    )


def test_ipv6_addresses_are_blocked_too(api_key):
    fail_api_key(ATTACKER_IPV6, 6)

    assert list_payments_from(ATTACKER_IPV6, api_key.secret) == 403
    assert list_payments_from("2001:db8::67", api_key.secret) == 200


def test_back_office_login_failures_block_the_ip_for_the_back_office_and_the_api(api_key):
    fail_login(ATTACKER_IP, 6)

    page = Client(REMOTE_ADDR=ATTACKER_IP).get("/admin/login/")

    assert page.status_code == 403
    assert page["Content-Type"].startswith("text/html")
    assert b"blocked" in page.content
    assert list_payments_from(ATTACKER_IP, api_key.secret) == 403
    failures = SecurityEvent.objects.filter(event_type="auth.login_failed")
    assert failures.count() == 6
    assert {str(event.ip_address) for event in failures} == {ATTACKER_IP}
    assert failures.first().details == {"username": "admin"}
    assert Client(REMOTE_ADDR=OTHER_IP).get("/admin/login/").status_code == 200


def test_login_and_api_key_failures_add_up():
    fail_login(ATTACKER_IP, 3)
    fail_api_key(ATTACKER_IP, 3)

    assert IpBlock.objects.filter(ip_address=ATTACKER_IP).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_failures_create_exactly_one_active_block():
    fail_api_key(ATTACKER_IP, 5)  # each concurrent failure is now one too many

    statuses = run_concurrently(10, lambda: list_payments_from(ATTACKER_IP))

    assert set(statuses) <= {401, 403}
    assert IpBlock.objects.filter(ip_address=ATTACKER_IP, lifted_at__isnull=True).count() == 1
    assert SecurityEvent.objects.filter(event_type="ip.blocked").count() == 1
    assert AuditLog.objects.filter(action="ip_block.created").count() == 1
    assert list_payments_from(ATTACKER_IP) == 403


def http_status(url: str, secret: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {secret}"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.django_db(transaction=True)
def test_a_real_server_blocks_the_ip_after_six_failed_api_keys(live_server, api_key):
    url = f"{live_server.url}/api/v1/payments"

    statuses = [http_status(url, "sk_test_wrong")[0] for _ in range(6)]
    status, body = http_status(url, api_key.secret)

    assert statuses == [401] * 6
    assert (status, body) == (403, IP_BLOCKED)
    assert str(IpBlock.objects.get().ip_address) == "127.0.0.1"
