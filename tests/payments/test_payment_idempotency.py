import datetime as dt
import json

import pytest
from django.utils import timezone

from fraud.rules import RuleSpec
from fraud.services import fraud_rules_apply
from payments.gateways.interface import GatewayTimeoutError
from payments.gateways.sandbox import SandboxGateway
from payments.models import IdempotencyKey, Payment, PaymentStatus, Transaction
from payments.services.idempotency import (
    IN_PROGRESS_LEASE,
    idempotency_claim,
    request_fingerprint,
)
from tests.concurrency import run_concurrently
from tests.conftest import PAYMENTS_URL, client_for, payment_body


def post(client, body, key, path=PAYMENTS_URL):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_same_key_and_body_replays_the_stored_response_without_a_new_payment(
    api_client, gateway_calls
):
    first = post(api_client, payment_body(), "order-1")
    replay = post(api_client, payment_body(), "order-1")

    assert first.status_code == replay.status_code == 201
    assert replay.content == first.content
    assert replay["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert Payment.objects.count() == 1
    assert gateway_calls.counts["authorize"] == 1


def test_replayed_decline_is_the_same_402_without_a_second_gateway_call(api_client, gateway_calls):
    first = post(api_client, payment_body("4000000000009995"), "order-2")
    replay = post(api_client, payment_body("4000000000009995"), "order-2")

    assert first.status_code == replay.status_code == 402
    assert replay.content == first.content
    assert Payment.objects.count() == 1
    assert gateway_calls.counts["authorize"] == 1


def test_same_key_with_a_different_body_is_refused_with_422(api_client):
    post(api_client, payment_body(amount=1000), "order-3")

    response = post(api_client, payment_body(amount=2000), "order-3")

    assert response.status_code == 422
    error = response.json()["error"]
    assert set(error) == {"type", "code", "message", "param"}
    assert (error["type"], error["code"]) == ("idempotency_error", "idempotency_key_reused")
    assert error["param"] == "Idempotency-Key"
    assert Payment.objects.count() == 1


def test_same_key_on_another_endpoint_is_refused_with_422(api_client):
    post(api_client, {"email": "a@example.com"}, "shared-key", path="/api/v1/customers")

    response = post(api_client, payment_body(), "shared-key")

    assert response.status_code == 422
    assert not Payment.objects.exists()


def test_duplicate_while_the_first_request_is_in_flight_answers_409(api_client, merchant):
    raw_body = json.dumps(payment_body()).encode()
    fingerprint = request_fingerprint(
        method="POST", path=PAYMENTS_URL, body=raw_body, livemode=False
    )
    claim = idempotency_claim(merchant=merchant, key="order-4", fingerprint=fingerprint)
    assert claim.claim_id is not None  # the "first request" holds the key and has not finished

    response = api_client.post(
        PAYMENTS_URL, raw_body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="order-4"
    )

    assert response.status_code == 409
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("idempotency_error", "idempotency_key_in_use")
    assert not Payment.objects.exists()


def test_validation_failure_releases_the_key_so_a_corrected_retry_succeeds(api_client):
    bad = post(api_client, payment_body(amount=-5), "order-5")
    assert bad.status_code == 400
    assert not IdempotencyKey.objects.filter(key="order-5").exists()

    good = post(api_client, payment_body(amount=500), "order-5")

    assert good.status_code == 201
    assert good.json()["amount"] == 500
    assert Payment.objects.count() == 1


def test_keys_are_scoped_per_merchant(api_client, other_api_client):
    ours = post(api_client, payment_body(), "order-6")
    theirs = post(other_api_client, payment_body(), "order-6")

    assert ours.status_code == theirs.status_code == 201
    assert not theirs.has_header("Idempotent-Replayed")
    assert ours.json()["id"] != theirs.json()["id"]
    assert Payment.objects.count() == 2


def test_requests_without_a_key_are_never_deduplicated(api_client):
    api_client.post(PAYMENTS_URL, payment_body(), format="json")
    api_client.post(PAYMENTS_URL, payment_body(), format="json")

    assert Payment.objects.count() == 2


@pytest.mark.parametrize("key", ["x" * 256, "line\nbreak"])
def test_malformed_idempotency_key_is_refused_with_400(api_client, key):
    response = post(api_client, payment_body(), key)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_invalid"
    assert not Payment.objects.exists()


def test_capture_with_the_same_key_is_replayed_not_repeated(api_client, gateway_calls):
    payment_id = post(api_client, payment_body(capture_method="manual"), "auth-7").json()["id"]
    capture_url = f"{PAYMENTS_URL}/{payment_id}/capture"

    first = post(api_client, {"amount_to_capture": 400}, "capture-7", path=capture_url)
    replay = post(api_client, {"amount_to_capture": 400}, "capture-7", path=capture_url)

    assert first.status_code == replay.status_code == 200
    assert replay.content == first.content
    assert gateway_calls.counts["capture"] == 1


CONCURRENT_REQUESTS = 20


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_requests_create_one_payment_with_one_gateway_call(
    api_key, gateway_calls
):
    body = payment_body(amount=4321)

    def send():
        client = client_for(api_key.secret)
        response = client.post(PAYMENTS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="race-1")
        return response.status_code, response.content, response.get("Idempotent-Replayed")

    results = run_concurrently(CONCURRENT_REQUESTS, send)

    assert Payment.objects.count() == 1
    assert gateway_calls.counts["authorize"] == 1
    created = [result for result in results if result[0] == 201]
    conflicts = [result for result in results if result[0] == 409]
    assert len(created) + len(conflicts) == CONCURRENT_REQUESTS
    assert len({content for _, content, _ in created}) == 1, "replays differ from the original"
    originals = [result for result in created if result[2] is None]
    assert len(originals) == 1
    payment = Payment.objects.get()
    assert f'"id":"{payment.id}"'.encode() in originals[0][1]
    for _, content, _ in conflicts:
        assert b'"idempotency_key_in_use"' in content
    stored = IdempotencyKey.objects.get(key="race-1")
    assert (stored.status, stored.response_status) == ("completed", 201)
    assert bytes(stored.response_body) == originals[0][1]

    late_duplicates = run_concurrently(CONCURRENT_REQUESTS, send)

    assert set(late_duplicates) == {(201, originals[0][1], "true")}
    assert Payment.objects.count() == 1
    assert gateway_calls.counts["authorize"] == 1


def _dead_request(merchant, key: str, body: bytes) -> None:
    """A request that claimed `key` and died mid-way (its claim is past the lease)."""
    fingerprint = request_fingerprint(method="POST", path=PAYMENTS_URL, body=body, livemode=False)
    claim = idempotency_claim(merchant=merchant, key=key, fingerprint=fingerprint)
    IdempotencyKey.objects.filter(pk=claim.claim_id).update(
        created_at=timezone.now() - IN_PROGRESS_LEASE - dt.timedelta(seconds=1)
    )


def test_a_retry_after_a_dead_request_that_created_the_payment_returns_that_payment(
    api_client, merchant, gateway_calls
):
    body = json.dumps(payment_body()).encode()
    _dead_request(merchant, "order-dead", body)
    # What the dead request had committed before dying: transaction 1 (PROCESSING).
    first = api_client.post(PAYMENTS_URL, json.loads(body), format="json").json()
    Payment.objects.filter(pk=first["id"]).update(idempotency_key="order-dead", status="PROCESSING")
    calls_before = gateway_calls.counts["authorize"]

    retry = api_client.post(
        PAYMENTS_URL, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="order-dead"
    )

    assert retry.status_code == 202  # still PROCESSING: recovery settles it, nothing is guessed
    assert retry.json()["id"] == first["id"]
    assert Payment.objects.count() == 1
    assert gateway_calls.counts["authorize"] == calls_before
    replay = api_client.post(
        PAYMENTS_URL, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="order-dead"
    )
    assert replay.content == retry.content


def test_a_retry_after_a_dead_request_that_created_nothing_processes_it(api_client, merchant):
    body = json.dumps(payment_body()).encode()
    _dead_request(merchant, "order-died-early", body)

    retry = api_client.post(
        PAYMENTS_URL, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="order-died-early"
    )

    assert retry.status_code == 201
    assert Payment.objects.get().idempotency_key == "order-died-early"


def test_a_claim_inside_its_lease_still_answers_409(api_client, merchant):
    body = json.dumps(payment_body()).encode()
    fingerprint = request_fingerprint(method="POST", path=PAYMENTS_URL, body=body, livemode=False)
    idempotency_claim(merchant=merchant, key="order-live", fingerprint=fingerprint)

    response = api_client.post(
        PAYMENTS_URL, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="order-live"
    )

    assert response.status_code == 409


# The payment hot path claims its key inside the statement that creates the payment and
# stores the answer inside the one that settles it (DeferredClaim): the same rules hold.


def test_an_invalid_request_with_a_key_used_by_another_request_is_still_422(api_client):
    assert post(api_client, payment_body(), "order-used").status_code == 201

    response = post(api_client, {"amount": -5, "currency": "usd"}, "order-used")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert Payment.objects.count() == 1


def test_an_invalid_request_with_a_key_in_flight_is_still_409(api_client, merchant):
    body = {"amount": "ten", "currency": "usd"}
    fingerprint = request_fingerprint(
        method="POST", path=PAYMENTS_URL, body=json.dumps(body).encode(), livemode=False
    )
    idempotency_claim(merchant=merchant, key="order-flight", fingerprint=fingerprint)

    response = api_client.post(
        PAYMENTS_URL,
        json.dumps(body),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="order-flight",
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_in_use"


def test_a_payment_settled_by_screening_stores_its_answer_with_the_payment(
    api_client, gateway_calls
):
    fraud_rules_apply(
        [RuleSpec("big", "amount_threshold", {"thresholds": {"USD": 1_000}}, "flag_for_review")],
        disable_missing=True,
    )
    first = post(api_client, payment_body(amount=5_000), "order-held")
    stored = IdempotencyKey.objects.get(key="order-held")

    assert first.status_code == 201 and first.json()["status"] == "UNDER_REVIEW"
    assert (stored.status, stored.response_status) == ("completed", 201)
    assert bytes(stored.response_body) == first.content
    replay = post(api_client, payment_body(amount=5_000), "order-held")
    assert replay.content == first.content and replay["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == 1
    assert gateway_calls.counts["authorize"] == 0


def test_a_gateway_timeout_answer_is_stored_and_replayed(api_client, monkeypatch):
    def timed_out(self, request):
        raise GatewayTimeoutError("read timed out")

    monkeypatch.setattr(SandboxGateway, "authorize", timed_out)

    first = post(api_client, payment_body(), "order-timeout")
    replay = post(api_client, payment_body(), "order-timeout")

    assert first.status_code == replay.status_code == 202  # PROCESSING: recovery settles it
    assert replay.content == first.content
    stored = IdempotencyKey.objects.get(key="order-timeout")
    assert (stored.status, bytes(stored.response_body)) == ("completed", first.content)
    assert Payment.objects.count() == 1


def test_a_payment_settled_elsewhere_meanwhile_stores_the_answer_it_gives(api_client, monkeypatch):
    """Transaction 2 finds the payment settled by someone else (a webhook, recovery): its
    statement stores nothing, and the answer given is stored as the request leaves."""
    original = SandboxGateway.authorize

    def settled_by_a_webhook_meanwhile(self, request):
        result = original(self, request)
        Payment.objects.filter(pk=request.payment_id).update(
            status=PaymentStatus.COMPLETED, pending_operation="", amount_captured=1050
        )
        return result

    monkeypatch.setattr(SandboxGateway, "authorize", settled_by_a_webhook_meanwhile)

    first = post(api_client, payment_body(), "order-raced")
    replay = post(api_client, payment_body(), "order-raced")

    assert first.status_code == 201 and first.json()["status"] == "COMPLETED"
    assert replay.content == first.content and replay["Idempotent-Replayed"] == "true"
    assert Transaction.objects.count() == 0  # the other writer's outcome stands


@pytest.mark.django_db(transaction=True)  # autocommit, as served: the refused statement is
# rolled back on its own, not inside a test transaction
def test_a_key_reused_after_its_24_hours_for_a_payment_that_exists_is_refused_with_422(
    api_client,
):
    """Payments keep their key forever (one payment per key); the key's record expires after
    24 h, so a late reuse is a new request that cannot create a second payment."""
    assert post(api_client, payment_body(), "order-old").status_code == 201
    IdempotencyKey.objects.filter(key="order-old").update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )

    response = post(api_client, payment_body(), "order-old")

    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("idempotency_error", "idempotency_key_reused")
    assert Payment.objects.count() == 1
    retry = post(api_client, payment_body(), "order-new")
    assert retry.status_code == 201
