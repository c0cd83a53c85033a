"""When PostgreSQL drops the connection (a restart, a failover, an administrator), the API
answers 503 with the error envelope and Retry-After, never a 500, and recovers."""

import psycopg
import pytest
from django.db import connection

from tests.conftest import PAYMENTS_URL
from tests.payments.test_api_errors import assert_error


def _terminate(backend_pid: int) -> None:
    """What a server restart does to a connection: end its backend, from another session."""
    settings = connection.get_connection_params()
    params = {
        name: settings[name] for name in ("host", "port", "user", "dbname") if settings.get(name)
    }
    with psycopg.connect(**params, autocommit=True) as admin:
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
