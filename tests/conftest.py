import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from fraud.ip_blocks import ip_block_cache_forget
from fraud.models import FraudRule
from fraud.rules_file import parse_rules
from fraud.services import rules_cache_clear
from payments.gateways.sandbox import SandboxGateway
from payments.models import ApiKey, ApiKeyScope
from payments.services.api_key_cache import (
    api_key_cache_clear,
    api_key_cache_generation,
    api_key_cache_listening,
    api_key_cache_stop,
    api_key_row,
)
from payments.services.api_keys import IssuedApiKey, api_key_issue, merchant_get_or_create
from payments.services.gateway_calls import in_transaction

# Fixtures shared by several test packages.
pytest_plugins = ["tests.workers"]

ALL_SCOPES = list(ApiKeyScope.values)

RUNBOOK_RULES_FILE = Path(__file__).resolve().parents[1] / "fraud" / "runbook-rules.yaml"
PAYMENTS_URL = "/api/v1/payments"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _runbook_fraud_rules(request):
    """Every database test starts with the runbook's rules, as a migrated database has them
    (a transactional test's flush would otherwise leave later tests without them)."""
    if not (
        {"db", "transactional_db"} & set(request.fixturenames)
    ) and not request.node.get_closest_marker("django_db"):
        yield
        return
    request.getfixturevalue("transactional_db" if _is_transactional(request) else "db")
    for spec in parse_rules(RUNBOOK_RULES_FILE.read_text()):
        FraudRule.objects.get_or_create(
            name=spec.name,
            defaults={
                "kind": spec.kind,
                "condition": spec.condition,
                "parameters": spec.parameters,
                "action": spec.action,
                "priority": spec.priority,
            },
        )
    rules_cache_clear()
    yield
    rules_cache_clear()


@pytest.fixture(autouse=True)
def _forget_cached_ip_blocks():
    """Cached IP-block answers live outside the test database (Redis or this process's
    memory): forget those of the addresses tests use, so no block outlives its test."""
    from tests.fraud.threats import TEST_IPS  # imports this module: import late

    for ip in TEST_IPS:
        ip_block_cache_forget(ip)
    yield
    for ip in TEST_IPS:
        ip_block_cache_forget(ip)


@pytest.fixture(autouse=True)
def _fresh_routing_and_breakers():
    """Circuit-breaker counts and cached states, and cached gateway accounts, live outside
    the test database (this process, or Redis): start and end every test without them."""
    from payments.gateways import CREDENTIAL_FIELDS
    from payments.services.breakers import breaker_cache_forget, breaker_window_clear
    from payments.services.routing import routing_cache_clear

    def forget() -> None:
        breaker_window_clear()
        routing_cache_clear()
        for gateway in (*CREDENTIAL_FIELDS, "flaky"):
            breaker_cache_forget(gateway)

    forget()
    yield
    forget()


def _is_transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return bool(
        "transactional_db" in request.fixturenames
        or "live_server" in request.fixturenames
        or (marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))
    )


@pytest.fixture
def merchant(db):
    merchant, _ = merchant_get_or_create(slug="acme", name="Acme Inc.")
    return merchant


@pytest.fixture
def api_key(merchant) -> IssuedApiKey:
    return api_key_issue(merchant=merchant, scopes=ALL_SCOPES)


@pytest.fixture
def api_client(api_key) -> APIClient:
    return client_for(api_key.secret)


@pytest.fixture
def other_merchant(db):
    merchant, _ = merchant_get_or_create(slug="globex", name="Globex Corp.")
    return merchant


@pytest.fixture
def other_api_client(other_merchant) -> APIClient:
    return client_for(api_key_issue(merchant=other_merchant, scopes=ALL_SCOPES).secret)


def client_for(secret: str, **headers: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}", **headers)
    return client


def card_data(number: str = "4242424242424242", *, cvc: str = "123") -> dict:
    return {
        "type": "card",
        "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": cvc},
    }


def payment_body(number: str = "4242424242424242", *, amount: int = 1050, **fields) -> dict:
    return {"amount": amount, "currency": "usd", "payment_method_data": card_data(number), **fields}


def create_payment(client: APIClient, number: str = "4242424242424242", **fields):
    return client.post(PAYMENTS_URL, payment_body(number, **fields), format="json")


class GatewayCalls:
    """Thread-safe count of sandbox gateway calls per operation, plus whether any call ran
    while a (non-test) database transaction was open."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.inside_transaction: list[str] = []

    def record(self, operation: str) -> None:
        with self._lock:
            self.counts[operation] += 1
            if in_transaction():
                self.inside_transaction.append(operation)


@pytest.fixture
def gateway_calls(monkeypatch) -> GatewayCalls:
    calls = GatewayCalls()
    for operation in ("authorize", "capture", "void", "refund"):
        original = getattr(SandboxGateway, operation)

        def counted(self, *args, _original=original, _operation=operation, **kwargs):
            calls.record(_operation)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(SandboxGateway, operation, counted)
    return calls


@pytest.fixture
def admin_client(client, admin_user):
    """pytest-django's superuser client, signed in with the second factor too."""
    operator_login(client, admin_user)
    return client


def operator_login(client, user) -> None:
    """Sign `user` in to the back office as after password and TOTP code (the admin refuses
    sessions without the second factor)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user).first() or TOTPDevice.objects.create(
        user=user, name="default", confirmed=True
    )
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


@pytest.fixture(scope="session", autouse=True)
def _api_key_cache_listener(django_db_setup):
    """The API key cache's listener holds a connection to the test database: close it before
    the database is dropped."""
    yield
    api_key_cache_stop()


@pytest.fixture
def api_key_cache_ready():
    """This process's API key cache listening (so it answers); emptied afterwards."""
    api_key_row("warm-up", lambda key_hash: None)  # starts the listener
    assert api_key_cache_listening(timeout=10)
    yield
    api_key_cache_clear()


def until_api_key_cache_notified(generation: int) -> None:
    """Wait for the API key cache to hear of a change after `generation`."""
    deadline = time.monotonic() + 5
    while api_key_cache_generation() == generation and time.monotonic() < deadline:
        time.sleep(0.01)
    assert api_key_cache_generation() != generation, "no notification arrived"


def api_key_used_now(issued: IssuedApiKey) -> None:
    """Mark the key used now (authenticating it then writes nothing) and wait until the
    cache has heard of that change (needs committed transactions)."""
    generation = api_key_cache_generation()
    ApiKey.objects.filter(pk=issued.api_key.pk).update(last_used_at=timezone.now())
    until_api_key_cache_notified(generation)
