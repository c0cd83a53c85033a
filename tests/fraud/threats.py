"""Shared pieces of the threat-detection tests: the addresses they use and clients that fail
to authenticate from a given address."""

from rest_framework.test import APIClient

from tests.conftest import PAYMENTS_URL

ATTACKER_IP = "203.0.113.66"
OTHER_IP = "198.51.100.20"
ATTACKER_IPV6 = "2001:db8::66"
LOCAL_IP = "127.0.0.1"  # the test client's and the live server's address
TEST_IPS = (ATTACKER_IP, OTHER_IP, ATTACKER_IPV6, LOCAL_IP)
WRONG_SECRET = "sk_test_" + "x" * 32


def api_client_from(ip: str, secret: str = WRONG_SECRET) -> APIClient:
    client = APIClient(REMOTE_ADDR=ip)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def list_payments_from(ip: str, secret: str = WRONG_SECRET) -> int:
    return api_client_from(ip, secret).get(PAYMENTS_URL).status_code


def fail_api_key(ip: str, times: int) -> list[int]:
    """`times` requests with a wrong API key from `ip`; their status codes."""
    return [list_payments_from(ip) for _ in range(times)]
