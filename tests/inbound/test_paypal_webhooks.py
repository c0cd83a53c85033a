"""Inbound PayPal webhooks: each delivery checked by PayPal's verify-webhook-signature API
(here the sandbox, which knows which deliveries it made), then stored, deduplicated and
applied like Stripe's; a verification PayPal cannot answer is a 503, not a bad signature."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from audit.models import SecurityEvent
from payments.gateways.paypal_gateway import paypal_event_read
from payments.models import (
    Dispute,
    Payment,
    PaymentStatus,
    PendingOperation,
    Refund,
    RefundStatus,
    Transaction,
)
from payments.services.inbound_webhooks import webhook_process
from tests.fakes.paypal_sandbox import CLIENT_ID, CLIENT_SECRET
from tests.inbound.paypal_events import (
    WEBHOOK_ID,
    authorization,
    capture,
    dispute,
    event,
    post,
    refund,
)
from tests.payments.factories import PaymentFactory
from webhooks.models import OutboxEvent, WebhookLog

pytestmark = pytest.mark.django_db
VERIFY_PATH = "/v1/notifications/verify-webhook-signature"


@pytest.fixture(autouse=True)
def _platform_app(settings, paypal_sandbox):
    settings.PAYPAL_WEBHOOK_ID = WEBHOOK_ID
    settings.PAYPAL_CLIENT_ID = CLIENT_ID
    settings.PAYPAL_CLIENT_SECRET = CLIENT_SECRET
    settings.PAYPAL_API_BASE = paypal_sandbox.url


def paypal_payment(status=PaymentStatus.REQUIRES_ACTION, **fields):
    return PaymentFactory(
        gateway="paypal",
        status=status,
        gateway_reference=fields.pop("gateway_reference", f"ORDER{timezone.now().timestamp()}"),
        **fields,
    )


def send(client, sandbox, payload):
    return post(client, *sandbox.webhook_delivery(payload, webhook_id=WEBHOOK_ID))


def deliver(client, sandbox, payload):
    response = send(client, sandbox, payload)
    assert response.status_code == 200, response.content
    log = WebhookLog.objects.get(event_id=payload["id"])
    return log, webhook_process(log.id)


def verify_calls(sandbox) -> int:
    return sum(path == VERIFY_PATH for _, path, _ in sandbox.requests)


@pytest.mark.parametrize("known_by", ["custom_id", "capture id", "order id"])
def test_a_completed_capture_completes_the_payment(client, paypal_sandbox, known_by):
    payment = paypal_payment(amount=2500, gateway_reference="5O190127TN364715T")
    if known_by == "capture id":
        Payment.objects.filter(pk=payment.pk).update(gateway_reference="3C679366HH908993F")
    custom_id = payment.id if known_by == "custom_id" else None
    sale = capture("3C679366HH908993F", value="25.00", custom_id=custom_id)

    log, status = deliver(client, paypal_sandbox, event("PAYMENT.CAPTURE.COMPLETED", sale))

    assert status == "processed"
    payment.refresh_from_db()
    assert (payment.status, payment.amount_captured, payment.gateway_reference) == (
        "COMPLETED",
        2500,
        "3C679366HH908993F",
    )
    assert Transaction.objects.get(payment=payment).idempotency_key == f"event:{log.event_id}"
    assert OutboxEvent.objects.filter(type="payment.completed", data__id=payment.id).exists()
    assert log.headers["Paypal-Transmission-Id"]
    assert verify_calls(paypal_sandbox) == 1


def test_an_authorization_captured_at_paypal_is_found_by_its_authorization(client, paypal_sandbox):
    payment = paypal_payment(
        PaymentStatus.AUTHORIZED,
        capture_method="manual",
        amount=5000,
        gateway_reference="0VF52814937998046",
    )
    captured = capture(
        "7TK53561YB803214S", value="40.00", up="payments/authorizations/0VF52814937998046"
    )

    deliver(client, paypal_sandbox, event("PAYMENT.CAPTURE.COMPLETED", captured))

    payment.refresh_from_db()
    assert (payment.status, payment.amount_captured, payment.gateway_reference) == (
        "COMPLETED",
        4000,
        "7TK53561YB803214S",
    )
    assert Transaction.objects.get(payment=payment).kind == "CAPTURE"


def test_a_capture_whose_answer_was_lost_is_settled_by_the_capture_event(client, paypal_sandbox):
    payment = paypal_payment(
        PaymentStatus.PROCESSING,
        capture_method="manual",
        pending_operation=PendingOperation.CAPTURE,
        attempt_count=1,
        gateway_reference="0VF52814937998046",
    )
    captured = capture("7TK53561YB803214S", up="payments/authorizations/0VF52814937998046")

    deliver(client, paypal_sandbox, event("PAYMENT.CAPTURE.COMPLETED", captured))

    payment.refresh_from_db()
    assert (payment.status, payment.pending_operation, payment.gateway_reference) == (
        "COMPLETED",
        "",
        "7TK53561YB803214S",
    )


def test_an_authorization_after_3ds_authorizes_and_a_void_cancels(client, paypal_sandbox):
    payment = paypal_payment(capture_method="manual", gateway_reference="5O190127TN364715T")

    deliver(
        client,
        paypal_sandbox,
        event("PAYMENT.AUTHORIZATION.CREATED", authorization("0VF52814937998046")),
    )
    payment.refresh_from_db()
    authorized = (payment.status, payment.gateway_reference)
    deliver(
        client,
        paypal_sandbox,
        event("PAYMENT.AUTHORIZATION.VOIDED", authorization("0VF52814937998046", "VOIDED")),
    )

    payment.refresh_from_db()
    assert authorized == ("AUTHORIZED", "0VF52814937998046")
    assert payment.status == "CANCELLED"
    assert list(Transaction.objects.filter(payment=payment).values_list("kind", flat=True)) in (
        ["AUTHORIZE", "VOID"],
        ["VOID", "AUTHORIZE"],
    )


def test_a_declined_capture_fails_the_payment_with_the_issuer_decline_code(client, paypal_sandbox):
    payment = paypal_payment()
    declined = capture(
        "8MC585209K746392H",
        "DECLINED",
        custom_id=payment.id,
        processor_response={"avs_code": "Y", "cvv_code": "M", "response_code": "5120"},
    )

    deliver(client, paypal_sandbox, event("PAYMENT.CAPTURE.DECLINED", declined))

    payment.refresh_from_db()
    assert (payment.status, payment.error_code) == ("FAILED", "insufficient_funds")
    assert payment.error_message == "Your card has insufficient funds."


def test_a_denial_after_completion_changes_nothing(client, paypal_sandbox):
    payment = paypal_payment()
    deliver(
        client,
        paypal_sandbox,
        event("PAYMENT.CAPTURE.COMPLETED", capture("3C679366HH908993F", custom_id=payment.id)),
    )

    late, status = deliver(
        client,
        paypal_sandbox,
        event(
            "PAYMENT.CAPTURE.DENIED", capture("3C679366HH908993F", "DENIED", custom_id=payment.id)
        ),
    )

    assert status == "processed"
    late.refresh_from_db()
    assert late.last_error == "already in that state"
    payment.refresh_from_db()
    assert payment.status == "COMPLETED"
    assert Transaction.objects.filter(payment=payment).count() == 1


def test_a_redelivered_event_is_applied_once(client, paypal_sandbox):
    payment = paypal_payment()
    payload = event("PAYMENT.CAPTURE.COMPLETED", capture("3C679366HH908993F", custom_id=payment.id))

    deliver(client, paypal_sandbox, payload)
    # PayPal redelivers the same event in a new transmission, freshly signed.
    again = send(client, paypal_sandbox, payload)

    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert WebhookLog.objects.filter(status="duplicate").count() == 1
    assert Transaction.objects.filter(payment=payment).count() == 1


def paypal_refund(payment, status, **fields) -> Refund:
    return Refund.objects.create(
        merchant=payment.merchant,
        payment=payment,
        amount=1000,
        currency="USD",
        status=status,
        reason="requested_by_customer",
        gateway="paypal",
        **fields,
    )


def test_a_refunded_capture_completes_our_refund_found_by_its_invoice_id(client, paypal_sandbox):
    payment = paypal_payment(
        PaymentStatus.COMPLETED,
        amount=3000,
        amount_refunded=1000,
        gateway_reference="3C679366HH908993F",
    )
    ours = paypal_refund(payment, RefundStatus.PROCESSING)
    completed = refund(
        "1JU08902781691411", "3C679366HH908993F", invoice_id=ours.gateway_idempotency_key
    )

    _, status = deliver(client, paypal_sandbox, event("PAYMENT.CAPTURE.REFUNDED", completed))

    assert status == "processed"
    ours.refresh_from_db()
    assert (ours.status, ours.gateway_reference) == ("COMPLETED", "1JU08902781691411")


def test_a_pending_refund_goes_pending_then_fails_and_gives_the_amount_back(client, paypal_sandbox):
    payment = paypal_payment(
        PaymentStatus.COMPLETED,
        amount=3000,
        amount_refunded=1000,
        gateway_reference="3C679366HH908993F",
    )
    ours = paypal_refund(payment, RefundStatus.PROCESSING)
    pending = refund(
        "1JU08902781691411", "3C679366HH908993F", "PENDING", invoice_id=ours.gateway_idempotency_key
    )

    deliver(client, paypal_sandbox, event("PAYMENT.REFUND.PENDING", pending))
    ours.refresh_from_db()
    was = ours.status
    # Found by PayPal's refund id now that our refund carries it.
    failed = refund("1JU08902781691411", "3C679366HH908993F", "FAILED")
    deliver(client, paypal_sandbox, event("PAYMENT.REFUND.FAILED", failed))

    ours.refresh_from_db()
    assert (was, ours.status, ours.error_code) == ("PENDING", "FAILED", "refund_failed")
    assert Payment.objects.get(pk=payment.pk).amount_refunded == 0


def test_a_dispute_is_recorded_and_resolved(client, paypal_sandbox):
    payment = paypal_payment(
        PaymentStatus.COMPLETED, amount=8000, gateway_reference="3C679366HH908993F"
    )
    opened = dispute(
        "PP-D-27803",
        "3C679366HH908993F",
        "WAITING_FOR_SELLER_RESPONSE",
        due="2026-07-01T13:35:44.000Z",
    )

    deliver(client, paypal_sandbox, event("CUSTOMER.DISPUTE.CREATED", opened))
    recorded = Dispute.objects.get()
    created = (recorded.status, recorded.reason, recorded.amount, recorded.evidence_due_by)
    resolved = {
        **opened,
        "status": "RESOLVED",
        "dispute_outcome": {"outcome_code": "RESOLVED_BUYER_FAVOUR"},
    }
    deliver(client, paypal_sandbox, event("CUSTOMER.DISPUTE.RESOLVED", resolved))

    recorded.refresh_from_db()
    assert created == (
        "needs_response",
        "fraudulent",
        8000,
        datetime(2026, 7, 1, 13, 35, 44, tzinfo=UTC),
    )
    assert (recorded.payment_id, recorded.gateway_reference, recorded.status) == (
        payment.id,
        "PP-D-27803",
        "lost",
    )
    assert OutboxEvent.objects.filter(type="dispute.closed").exists()


@pytest.mark.parametrize(
    ("status", "outcome", "ours"),
    [
        ("OPEN", None, "needs_response"),
        ("WAITING_FOR_SELLER_RESPONSE", None, "needs_response"),
        ("WAITING_FOR_BUYER_RESPONSE", None, "under_review"),
        ("UNDER_REVIEW", None, "under_review"),
        ("RESOLVED", "RESOLVED_SELLER_FAVOUR", "won"),
        ("RESOLVED", "CANCELED_BY_BUYER", "won"),
        ("RESOLVED", "RESOLVED_BUYER_FAVOUR", "lost"),
        ("RESOLVED", "ACCEPTED", "lost"),
        ("RESOLVED", "RESOLVED_WITH_PAYOUT", "closed"),
    ],
)
def test_dispute_statuses_in_our_vocabulary(status, outcome, ours):
    read = paypal_event_read(
        event("CUSTOMER.DISPUTE.UPDATED", dispute("PP-D-1", "CAP1", status, outcome=outcome))
    )

    assert (read.object_kind, read.payment_reference, read.status) == ("dispute", "CAP1", ours)


def test_events_we_do_not_act_on_are_kept_as_ignored(client, paypal_sandbox):
    _, status = deliver(
        client, paypal_sandbox, event("CHECKOUT.ORDER.APPROVED", {"id": "5O190127TN364715T"})
    )

    assert status == "ignored"


@pytest.mark.parametrize(
    "dropped", ["PAYPAL-TRANSMISSION-SIG", "PAYPAL-CERT-URL", "PAYPAL-AUTH-ALGO"]
)
def test_a_delivery_without_its_signature_headers_is_refused_and_recorded(
    client, paypal_sandbox, dropped
):
    payment = paypal_payment()
    body, headers = paypal_sandbox.webhook_delivery(
        event("PAYMENT.CAPTURE.COMPLETED", capture("3C679366HH908993F", custom_id=payment.id)),
        webhook_id=WEBHOOK_ID,
    )
    del headers[dropped]

    response = post(client, body, headers)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "signature_invalid"
    log = WebhookLog.objects.get()
    assert (log.status, log.event_id, log.last_error) == (
        "rejected",
        "",
        f"missing {dropped} header",
    )
    assert SecurityEvent.objects.filter(event_type="webhook.signature_invalid").exists()
    assert verify_calls(paypal_sandbox) == 0
    payment.refresh_from_db()
    assert payment.status == "REQUIRES_ACTION"


@pytest.mark.parametrize("forgery", ["changed body", "other webhook", "never sent"])
def test_a_delivery_paypal_does_not_vouch_for_is_refused(client, paypal_sandbox, settings, forgery):
    payment = paypal_payment()
    payload = event("PAYMENT.CAPTURE.COMPLETED", capture("3C679366HH908993F", custom_id=payment.id))
    body, headers = paypal_sandbox.webhook_delivery(payload, webhook_id=WEBHOOK_ID)
    if forgery == "changed body":
        body = body.replace(b'"10.00"', b'"99.00"')
    elif forgery == "other webhook":
        settings.PAYPAL_WEBHOOK_ID = "3XB10559SD5432301"
    else:
        headers["PAYPAL-TRANSMISSION-ID"] = "b2384410-f8d2-11e8-9d7b-97f6b0d9c8e2"

    response = post(client, body, headers)

    assert response.status_code == 400
    log = WebhookLog.objects.get()
    assert (log.status, log.last_error) == (
        "rejected",
        "signature does not verify: PayPal says FAILURE",
    )
    assert SecurityEvent.objects.filter(event_type="webhook.signature_invalid").exists()
    payment.refresh_from_db()
    assert payment.status == "REQUIRES_ACTION"


def test_a_body_that_is_not_a_paypal_event_is_refused(client, paypal_sandbox):
    _, headers = paypal_sandbox.webhook_delivery({"id": "WH-1"}, webhook_id=WEBHOOK_ID)

    response = post(client, b"[1, 2]", headers)

    assert response.status_code == 400
    assert WebhookLog.objects.get().last_error == "not a PayPal event"


@pytest.mark.parametrize("outage", ["unreachable", "5xx"])
def test_paypal_unable_to_verify_is_a_503_and_nothing_is_processed(
    client, paypal_sandbox, settings, outage
):
    payment = paypal_payment()
    payload = event("PAYMENT.CAPTURE.COMPLETED", capture("3C679366HH908993F", custom_id=payment.id))
    delivery = paypal_sandbox.webhook_delivery(payload, webhook_id=WEBHOOK_ID)
    if outage == "unreachable":
        settings.PAYPAL_API_BASE = "http://127.0.0.1:9"  # discard port: connection refused
    else:
        paypal_sandbox.fail_next(status=503)

    response = post(client, *delivery)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "verification_unavailable"
    log = WebhookLog.objects.get()
    assert (log.status, log.event_id) == ("received", "")
    assert log.last_error.startswith("PayPal could not verify it: ")
    assert not SecurityEvent.objects.exists()
    payment.refresh_from_db()
    assert payment.status == "REQUIRES_ACTION"

    # PayPal delivers it again once verification works.
    settings.PAYPAL_API_BASE = paypal_sandbox.url
    _, status = deliver(client, paypal_sandbox, payload)
    assert status == "processed"


@pytest.mark.parametrize(
    ("unset", "why"),
    [
        ("PAYPAL_WEBHOOK_ID", "PAYPAL_WEBHOOK_ID is not configured"),
        ("PAYPAL_CLIENT_SECRET", "PAYPAL_CLIENT_ID and PAYPAL_CLIENT_SECRET are not configured"),
    ],
)
def test_without_configuration_every_delivery_is_refused(
    client, paypal_sandbox, settings, unset, why
):
    setattr(settings, unset, "")
    payload = event("PAYMENT.CAPTURE.COMPLETED", capture("3C679366HH908993F"))

    response = send(client, paypal_sandbox, payload)

    assert response.status_code == 400
    assert response.json()["error"]["message"] == why
    assert verify_calls(paypal_sandbox) == 0


def test_the_platform_app_token_serves_many_deliveries_and_is_renewed_when_refused(
    client, paypal_sandbox
):
    for _ in range(2):
        deliver(client, paypal_sandbox, event("CHECKOUT.ORDER.APPROVED", {"id": "5O1901"}))
    issued = paypal_sandbox.tokens_issued
    paypal_sandbox.revoke_tokens()

    response = send(client, paypal_sandbox, event("CHECKOUT.ORDER.APPROVED", {"id": "5O1902"}))

    assert response.status_code == 200
    assert (issued, paypal_sandbox.tokens_issued) == (1, 2)
