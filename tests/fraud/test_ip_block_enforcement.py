"""Where and how cheaply blocks are enforced: the API and back office refuse a blocked IP, the
health check never does, and the check costs one query per address, then none."""

import datetime as dt

import pytest
from django.core.cache import caches
from django.test import Client
from django.utils import timezone

from audit.context import acting_as, cli_context
from fraud import ip_blocks
from fraud.ip_blocks import IpBlockError, ip_block_create, ip_block_lift, ip_is_blocked
from fraud.models import IpBlock
from tests.fraud.threats import ATTACKER_IP, LOCAL_IP, OTHER_IP, list_payments_from

pytestmark = pytest.mark.django_db


def block(ip: str, **fields) -> IpBlock:
    with acting_as(cli_context()):
        return ip_block_create(ip_address=ip, **fields)[0]


def test_health_is_never_blocked(client):
    block(LOCAL_IP)

    assert client.get("/actuator/health").status_code == 200
    assert client.get("/admin/login/").status_code == 403
    assert client.get("/api/v1/payments").status_code == 403


def test_the_back_office_refusal_is_a_plain_page_not_the_api_envelope(client):
    block(LOCAL_IP)

    response = client.get("/admin/")

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    assert b"403 Forbidden" in response.content


def test_a_block_applies_before_authentication_even_without_a_key():
    block(ATTACKER_IP)

    response = Client(REMOTE_ADDR=ATTACKER_IP).get("/api/v1/payments")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "ip_blocked"


def test_the_check_queries_the_database_once_then_answers_from_the_shared_cache(
    django_assert_num_queries, monkeypatch
):
    monkeypatch.setattr(ip_blocks, "LOCAL_MEMO_SECONDS", 0)  # as after the memo's second
    block(ATTACKER_IP)

    for ip, blocked in ((ATTACKER_IP, True), (OTHER_IP, False)):
        with django_assert_num_queries(1):
            assert ip_is_blocked(ip) is blocked
        with django_assert_num_queries(0):
            assert ip_is_blocked(ip) is blocked


def test_within_a_second_the_check_does_not_even_ask_the_shared_cache(monkeypatch):
    block(ATTACKER_IP)
    assert ip_is_blocked(ATTACKER_IP) and not ip_is_blocked(OTHER_IP)

    def unexpected(*args, **kwargs):
        raise AssertionError("the shared cache was asked")

    monkeypatch.setattr(caches["default"], "get", unexpected)

    assert ip_is_blocked(ATTACKER_IP) and not ip_is_blocked(OTHER_IP)


def test_a_new_block_and_a_lift_take_effect_at_once_despite_cached_answers(api_key):
    assert list_payments_from(ATTACKER_IP, api_key.secret) == 200  # "not blocked" is cached

    block(ATTACKER_IP)
    assert list_payments_from(ATTACKER_IP, api_key.secret) == 403  # "blocked" is cached

    with acting_as(cli_context()):
        ip_block_lift(ip_address=ATTACKER_IP)
    assert list_payments_from(ATTACKER_IP, api_key.secret) == 200


def test_an_unreachable_cache_falls_back_to_the_database(monkeypatch):
    def unreachable(*args, **kwargs):
        raise ConnectionError("cache down")

    backend = caches["default"]
    for method in ("get", "set", "delete"):
        monkeypatch.setattr(backend, method, unreachable)

    block(ATTACKER_IP)

    assert Client(REMOTE_ADDR=ATTACKER_IP).get("/api/v1/payments").status_code == 403
    assert ip_is_blocked(OTHER_IP) is False


def test_an_expired_block_no_longer_blocks():
    block(ATTACKER_IP, blocked_until=timezone.now() + dt.timedelta(hours=1))
    IpBlock.objects.update(blocked_until=timezone.now() - dt.timedelta(seconds=1))

    assert ip_is_blocked(ATTACKER_IP) is False  # nothing cached yet: the database decides


def test_the_canonical_form_of_an_address_is_blocked():
    block("2001:DB8:0:0::66")

    assert ip_is_blocked("2001:db8::66")
    assert ip_is_blocked("::ffff:203.0.113.66") is False
    block(ATTACKER_IP)
    assert ip_is_blocked("::ffff:203.0.113.66")  # IPv4-mapped, as a dual-stack server sees it


@pytest.mark.parametrize("text", ["203.0.113.0/24", "not-an-ip", "", "fe80::1%eth0"])
def test_only_single_addresses_can_be_blocked(text):
    with pytest.raises(IpBlockError):
        block(text)

    assert not IpBlock.objects.exists()


def test_a_garbage_client_address_is_simply_not_blocked():
    assert ip_is_blocked("unknown") is False
    assert ip_is_blocked(None) is False


def test_a_check_that_raced_a_new_block_does_not_cache_its_stale_answer(monkeypatch):
    """The reader asked the database just before the block committed: its "not blocked" must
    not outlive the block's invalidation, in the memo or in the shared cache."""
    real_query = ip_blocks._blocked_until_from_database

    def block_lands_meanwhile(ip):
        answer = real_query(ip)  # "not blocked": the block is not there yet
        monkeypatch.setattr(ip_blocks, "_blocked_until_from_database", real_query)
        block(ATTACKER_IP)  # commits and invalidates while the reader is still busy
        return answer

    monkeypatch.setattr(ip_blocks, "_blocked_until_from_database", block_lands_meanwhile)

    assert ip_is_blocked(ATTACKER_IP) is False  # the racing check itself answered from before
    assert ip_is_blocked(ATTACKER_IP) is True  # but nothing kept that answer
