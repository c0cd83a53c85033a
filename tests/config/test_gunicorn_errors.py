"""Requests gunicorn's own parser rejects, before Django sees them, get the API's JSON envelope
with gunicorn's status (config/http_errors.py), never its HTML page, and never the rejected
input: a header that is too long or malformed may be someone's API key."""

import json

import pytest

from config.http_errors import error_response
from tests.config.gunicorn_server import exchange

pytestmark = pytest.mark.django_db  # the server's database

SECRET = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"


def _get(headers: bytes = b"", target: bytes = b"/api/v1/payments") -> bytes:
    return b"GET " + target + b" HTTP/1.1\r\nHost: paydesk\r\n" + headers + b"\r\n"


REJECTED = {
    "header_too_large": (
        _get(b"Idempotency-Key: " + SECRET.encode() + b"k" * 10_000 + b"\r\n"),
        431,
        "invalid_request_error",
        "request_header_too_large",
    ),
    "url_too_large": (
        _get(target=b"/api/v1/payments?key=" + SECRET.encode() + b"&q=" + b"a" * 4_100),
        414,
        "invalid_request_error",
        "request_uri_too_large",
    ),
    "control_character_in_a_header": (
        _get(b"Authorization: Bearer " + SECRET.encode() + b"\x01\r\n"),
        400,
        "invalid_request_error",
        "request_malformed",
    ),
    "transfer_coding_gunicorn_does_not_take": (
        b"POST /api/v1/payments HTTP/1.1\r\nHost: paydesk\r\nTransfer-Encoding: br\r\n"
        b"X-Note: " + SECRET.encode() + b"\r\n\r\n",
        501,
        "api_error",
        "request_malformed",
    ),
}


@pytest.mark.parametrize(
    ("request_bytes", "status", "error_type", "code"), REJECTED.values(), ids=REJECTED
)
def test_parser_rejections_answer_the_envelope_with_gunicorns_status(
    gunicorn_port, request_bytes, status, error_type, code
):
    answer = exchange(gunicorn_port, request_bytes)

    assert answer.status == status
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.headers["Connection"] == "close"
    error = json.loads(answer.body)["error"]
    assert (error["type"], error["code"], error["param"]) == (error_type, code, None)
    assert error["message"]
    assert SECRET.encode() not in answer.raw
    assert b"<html" not in answer.raw


def test_a_server_error_is_an_api_error():
    """gunicorn answers 500 itself when the application fails outside Django's handler."""
    head, _, body = error_response(500, "Internal Server Error").partition(b"\r\n\r\n")

    assert head.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
    assert f"Content-Length: {len(body)}".encode() in head
    assert json.loads(body) == {
        "error": {
            "type": "api_error",
            "code": "internal_error",
            "message": "An internal error occurred. It has been logged.",
            "param": None,
        }
    }
