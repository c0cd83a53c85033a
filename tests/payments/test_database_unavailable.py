"""When PostgreSQL drops the connection (a restart, a failover, an administrator), the API
answers 503 with the error envelope and Retry-After, never a 500, and recovers."""

import pytest
from django.db import connection
from django.utils import timezone

from fraud.ip_blocks import ip_block_cache_forget
from payments.gateways.sandbox import SandboxGateway
from payments.models import IdempotencyKey, Payment, SandboxOperation
from payments.services.idempotency import IN_PROGRESS_LEASE
from tests.conftest import PAYMENTS_URL, client_for, payment_body
from tests.payments.test_api_errors import assert_error
from tests.subprocesses import psql_session


def _terminate(backend_pid: int) -> None:
    """What a server restart does to a connection: end its backend, from another session."""
    with psql_session() as admin:
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", [backend_pid])


@pytest.mark.django_db(transaction=True)
def test_a_dropped_database_connection_is_a_503_and_the_next_request_recovers(api_client):
    assert api_client.get(PAYMENTS_URL).status_code == 200
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend_pid,) = cursor.fetchone()
    _terminate(backend_pid)

    response = api_client.get(PAYMENTS_URL)

    error = assert_error(response, 503, "service_unavailable", error_type="api_error")
    assert "Idempotency-Key" in error["message"]
    assert response["Retry-After"] == "1"
    connection.close()  # as the end of a request does with a connection that failed
    assert api_client.get(PAYMENTS_URL).status_code == 200


def _backend_pid() -> int:
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_database_lost_after_the_charge_leaves_no_503_to_replay_and_no_second_charge(
    api_client, monkeypatch
):
    """PostgreSQL goes away while the gateway charges: the answer is 503, the key is not
    bound to it, a retry inside the lease is 409, and after the lease the retry answers with
    the payment that was created, charged once."""
    authorize = SandboxGateway.authorize

    def authorize_then_lose_the_database(self, request):
        result = authorize(self, request)
        _terminate(_backend_pid())
        return result

    monkeypatch.setattr(SandboxGateway, "authorize", authorize_then_lose_the_database)
    body = payment_body()

    lost = api_client.post(PAYMENTS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="lost-db")
    connection.close()  # as the end of a request does with a connection that failed

    assert_error(lost, 503, "service_unavailable", error_type="api_error")
    monkeypatch.setattr(SandboxGateway, "authorize", authorize)
    retry = api_client.post(PAYMENTS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="lost-db")
    assert_error(
        retry,
        409,
        "idempotency_key_in_use",
        param="Idempotency-Key",
        error_type="idempotency_error",
    )

    IdempotencyKey.objects.update(created_at=timezone.now() - IN_PROGRESS_LEASE * 2)
    after_lease = api_client.post(PAYMENTS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="lost-db")

    payment = Payment.objects.get()
    assert after_lease.json()["id"] == payment.id
    assert SandboxOperation.objects.filter(operation__in=["authorize", "sale"]).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_database_lost_during_a_capture_does_not_become_the_keys_answer(api_client, monkeypatch):
    created = api_client.post(
        PAYMENTS_URL, payment_body(capture_method="manual"), format="json"
    ).json()
    capture = SandboxGateway.capture

    def capture_then_lose_the_database(self, **kwargs):
        result = capture(self, **kwargs)
        _terminate(_backend_pid())
        return result

    monkeypatch.setattr(SandboxGateway, "capture", capture_then_lose_the_database)
    url = f"{PAYMENTS_URL}/{created['id']}/capture"

    lost = api_client.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="lost-capture")
    connection.close()

    assert_error(lost, 503, "service_unavailable", error_type="api_error")
    monkeypatch.setattr(SandboxGateway, "capture", capture)
    retry = api_client.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="lost-capture")
    assert retry.status_code == 409, retry.content
    assert IdempotencyKey.objects.get(key="lost-capture").response_status is None


@pytest.mark.django_db(transaction=True)
def test_a_database_lost_before_the_view_is_a_503_too(api_key):
    """Middleware that reads the database (the IP-block check, on a cache miss) runs before
    DRF: its error goes through Django's 500 handler, which tells a lost database apart."""
    client = client_for(api_key.secret)
    client.raise_request_exception = False  # answer as the server would
    ip_block_cache_forget("127.0.0.1")
    _terminate(_backend_pid())

    response = client.get(PAYMENTS_URL)

    connection.close()
    assert_error(response, 503, "service_unavailable", error_type="api_error")
    assert response["Retry-After"] == "1"
