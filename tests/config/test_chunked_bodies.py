"""A body sent `Transfer-Encoding: chunked` (no Content-Length) is read as one with
Content-Length would be (config/wsgi.py). Django alone read it as empty: a valid payment got
400 "amount: This field is required."."""

import json

import pytest
from django.conf import settings

from payments.models import Payment
from tests.config.gunicorn_server import chunked, exchange
from tests.conftest import PAYMENTS_URL, payment_body

# Committed, so that the gunicorn subprocess sees the API key.
pytestmark = pytest.mark.django_db(transaction=True)


def _post(secret: str, body: bytes, *, key: str, is_chunked: bool = True) -> bytes:
    framing = "Transfer-Encoding: chunked" if is_chunked else f"Content-Length: {len(body)}"
    head = (
        f"POST {PAYMENTS_URL} HTTP/1.1\r\nHost: paydesk\r\n"
        f"Authorization: Bearer {secret}\r\nContent-Type: application/json\r\n"
        f"Idempotency-Key: {key}\r\n{framing}\r\n\r\n"
    )
    return head.encode() + (chunked(body) if is_chunked else body)


def _error(answer) -> dict:
    assert answer.headers["Content-Type"] == "application/json"
    return json.loads(answer.body)["error"]


def test_a_chunked_payment_is_created_and_answered_as_with_content_length(gunicorn_port, api_key):
    body = json.dumps(payment_body()).encode()

    first = exchange(gunicorn_port, _post(api_key.secret, body, key="chunked-1"))
    again = exchange(gunicorn_port, _post(api_key.secret, body, key="chunked-1", is_chunked=False))

    assert first.status == 201, first.body
    payment = json.loads(first.body)
    assert Payment.objects.filter(pk=payment["id"], amount=1050).exists()
    # Same key, same bytes with Content-Length: the stored answer (other bytes would be 422).
    assert (again.status, again.headers["Idempotent-Replayed"]) == (201, "true")
    assert again.body == first.body


@pytest.mark.parametrize("raw", [b'{"amount": 1050,', b"x" * 10_000])
def test_a_malformed_chunked_body_is_invalid_json(gunicorn_port, api_key, raw):
    answer = exchange(gunicorn_port, _post(api_key.secret, raw, key="chunked-bad"))

    assert answer.status == 400
    assert _error(answer)["code"] == "invalid_json"


def test_a_chunked_body_at_the_limit_is_read_whole(gunicorn_port, api_key):
    raw = b" " * (settings.API_MAX_BODY_BYTES - 2) + b"{]"

    answer = exchange(gunicorn_port, _post(api_key.secret, raw, key="chunked-limit"))

    assert answer.status == 400
    assert _error(answer)["code"] == "invalid_json"


@pytest.mark.parametrize("over", [1, 1024 * 1024])
def test_a_chunked_body_over_the_limit_is_413_as_with_content_length(gunicorn_port, api_key, over):
    raw = b"x" * (settings.API_MAX_BODY_BYTES + over)

    answer = exchange(gunicorn_port, _post(api_key.secret, raw, key="chunked-big"))
    with_length = exchange(
        gunicorn_port, _post(api_key.secret, raw, key="chunked-big", is_chunked=False)
    )

    assert answer.status == 413
    assert _error(answer)["code"] == "request_too_large"
    assert (with_length.status, with_length.body) == (413, answer.body)
