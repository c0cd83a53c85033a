import json

import pytest


def test_health_is_up_with_a_database_component(client, db):
    response = client.get("/actuator/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "UP"
    assert body["components"]["db"]["status"] == "UP"
    assert body["components"]["db"]["details"]["database"] == "PostgreSQL"
    assert body["components"]["db"]["details"]["schema"] == "payment"
    assert all(component["status"] == "UP" for component in body["components"].values())


def test_health_needs_no_api_key(client, db):
    assert client.get("/actuator/health").status_code == 200


def test_health_reports_down_with_503_when_a_component_fails(client, db, monkeypatch):
    from config import actuator

    def broken():
        raise ConnectionError("database unreachable")

    monkeypatch.setitem(actuator.CHECKS, "db", broken)

    response = client.get("/actuator/health")

    assert response.status_code == 503
    assert response.json()["status"] == "DOWN"
    assert response.json()["components"]["db"] == {
        "status": "DOWN",
        "details": {"error": "ConnectionError"},
    }


def test_health_only_answers_get(client, db):
    assert client.post("/actuator/health").status_code == 405


@pytest.fixture
def openapi(client, db):
    response = client.get("/api/v1/schema", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def test_schema_is_an_openapi_document_of_the_merchant_api(openapi):
    assert openapi["openapi"].startswith("3.")
    assert "/api/v1/payments" in openapi["paths"]
    assert {"get", "post"} <= set(openapi["paths"]["/api/v1/payments"])
    assert "/api/v1/payments/{payment_id}/capture" in openapi["paths"]
    assert "/api/v1/customers/{customer_id}/payment-methods" in openapi["paths"]


def test_schema_documents_bearer_auth_and_error_codes(openapi):
    schemes = openapi["components"]["securitySchemes"]
    assert any(scheme.get("scheme") == "bearer" for scheme in schemes.values())
    error_codes = json.dumps(openapi["components"]["schemas"])
    for code in ("idempotency_key_in_use", "insufficient_scope", "payment_unexpected_state"):
        assert code in error_codes


def test_schema_publishes_no_developer_notes(openapi):
    """Input schemas are described for merchants, not by the docstring of the serializer
    class they share (its performance notes are for developers)."""
    described = {
        name: schema.get("description", "")
        for name, schema in openapi["components"]["schemas"].items()
    }

    assert (
        described["PaymentCreate"]
        == "A parameter not listed here is refused (400 `parameter_unknown`)."
    )
    assert not [name for name, text in described.items() if "µs" in text or "CPU" in text]


def test_schema_is_served_as_yaml_by_default(client, db):
    response = client.get("/api/v1/schema")

    assert response.status_code == 200
    assert b"/api/v1/payments:" in response.content


def test_docs_are_an_html_page(client, db, settings):
    # The manifest storage needs `collectstatic` to have run (make run does it; a fresh test
    # run has not), so resolve static URLs without the manifest here.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"<html" in response.content.lower()
    assert b"swagger" in response.content.lower()
