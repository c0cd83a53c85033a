"""The Stripe gateway against localstripe (a stateful Stripe look-alike) for behaviour, and
against stand-in servers for what we send and for failures localstripe cannot stage."""

import logging

import pytest

from payments.gateways import stripe_gateway
from payments.gateways.interface import (
    GatewayError,
    GatewayTimeoutError,
    GatewayUnavailableError,
    Outcome,
)
from payments.gateways.stripe_gateway import StripeGateway
from tests.gateways.stripe.calls import (
    DECLINED_WHEN_CHARGED,
    THREE_DS_REQUIRED,
    VISA,
    authorize_card,
    new_key,
    refund_charge,
)
from tests.gateways.stripe.conftest import API_KEY

PAYMENT_INTENT = {
    "id": "pi_scripted",
    "object": "payment_intent",
    "status": "succeeded",
    "amount": 500,
    "amount_received": 500,
    "currency": "eur",
    "metadata": {},
}


def test_authorize_with_automatic_capture_succeeds_with_the_payment_intent_as_reference(gateway):
    result = authorize_card(gateway)

    assert (result.outcome, result.amount) == (Outcome.SUCCEEDED, 500)
    assert result.reference.startswith("pi_")
    assert (result.error_code, result.next_action) == ("", None)


def test_a_manual_authorization_can_be_partially_captured(gateway):
    authorized = authorize_card(gateway, capture=False, amount=1000)
    captured = gateway.capture(
        reference=authorized.reference,
        amount=600,
        currency="EUR",
        idempotency_key=new_key("capture"),
    )

    assert (authorized.outcome, authorized.amount) == (Outcome.SUCCEEDED, 1000)
    assert (captured.outcome, captured.amount) == (Outcome.SUCCEEDED, 600)
    assert captured.reference == authorized.reference
    assert gateway.retrieve(reference=authorized.reference).outcome == Outcome.SUCCEEDED


def test_a_3ds_card_requires_action_with_the_next_action(gateway):
    result = authorize_card(gateway, number=THREE_DS_REQUIRED)

    assert result.outcome == Outcome.REQUIRES_ACTION
    assert result.reference.startswith("pi_")
    assert isinstance(result.next_action, dict)
    assert result.next_action["type"] == "use_stripe_sdk"


def test_a_card_declined_when_charged_is_a_declined_result_on_its_payment_intent(gateway):
    result = authorize_card(gateway, number=DECLINED_WHEN_CHARGED)

    assert result.outcome == Outcome.DECLINED
    assert result.error_code == "card_declined"
    assert result.decline_code == ""  # localstripe sends no decline_code; Stripe does
    assert result.message == "Your card was declined."
    assert result.reference.startswith("pi_")
    assert gateway.retrieve(reference=result.reference) == result


def test_a_partial_refund_returns_the_refund_id_and_succeeds(gateway):
    charge = authorize_card(gateway, amount=1000)

    refund = refund_charge(gateway, charge.reference, 300, new_key("refund"))

    assert (refund.outcome, refund.amount) == (Outcome.SUCCEEDED, 300)
    assert refund.reference.startswith("re_")


def test_void_cancels_an_authorization(gateway):
    authorized = authorize_card(gateway, capture=False)

    voided = gateway.void(reference=authorized.reference, idempotency_key=new_key("void"))

    assert (voided.outcome, voided.reference) == (Outcome.SUCCEEDED, authorized.reference)
    after = gateway.retrieve(reference=authorized.reference)
    assert (after.outcome, after.message) == (Outcome.DECLINED, "The PaymentIntent is canceled.")


def test_retrieve_maps_the_payment_intent_and_answers_none_for_an_unknown_one(gateway):
    authorized = authorize_card(gateway, capture=False, amount=700)

    assert gateway.retrieve(reference=authorized.reference) == authorized
    assert gateway.retrieve(reference="pi_unknown") is None


def test_lookup_finds_an_authorization_by_its_key_without_a_reference(gateway):
    key = new_key("authorize")
    authorized = authorize_card(gateway, key=key)

    assert gateway.lookup(operation="authorize", idempotency_key=key) == authorized


def test_lookup_of_an_unknown_authorization_key_answers_none(gateway):
    authorize_card(gateway)

    assert gateway.lookup(operation="authorize", idempotency_key=new_key("authorize")) is None


def test_lookup_ignores_a_reference_made_under_another_key(gateway):
    earlier = authorize_card(gateway)
    key = new_key("authorize")
    current = authorize_card(gateway, key=key)

    found = gateway.lookup(operation="authorize", idempotency_key=key, reference=earlier.reference)

    assert found == current


def test_lookup_without_search_gives_up_past_the_scan_limit_instead_of_answering_none(
    gateway, monkeypatch
):
    authorize_card(gateway)
    authorize_card(gateway)
    monkeypatch.setattr(stripe_gateway, "LIST_SCAN_LIMIT", 1)

    with pytest.raises(GatewayTimeoutError):
        gateway.lookup(operation="authorize", idempotency_key=new_key("authorize"))


def test_lookup_finds_a_refund_by_its_key(gateway):
    charge = authorize_card(gateway, amount=1000)
    key = new_key("refund")
    refund_charge(gateway, charge.reference, 100, new_key("refund"))
    refund = refund_charge(gateway, charge.reference, 200, key)

    def lookup(refund_key: str):
        return gateway.lookup(
            operation="refund", idempotency_key=refund_key, reference=charge.reference
        )

    assert lookup(key) == refund
    assert lookup(new_key("refund")) is None


def test_lookup_of_a_capture_or_void_says_whether_it_took_effect(gateway):
    to_capture = authorize_card(gateway, capture=False)
    to_void = authorize_card(gateway, capture=False)
    capture_key, void_key = new_key("capture"), new_key("void")

    assert (
        gateway.lookup(
            operation="capture", idempotency_key=capture_key, reference=to_capture.reference
        )
        is None
    )
    assert (
        gateway.lookup(operation="void", idempotency_key=void_key, reference=to_void.reference)
        is None
    )

    gateway.capture(
        reference=to_capture.reference, amount=500, currency="EUR", idempotency_key=capture_key
    )
    gateway.void(reference=to_void.reference, idempotency_key=void_key)

    captured = gateway.lookup(
        operation="capture", idempotency_key=capture_key, reference=to_capture.reference
    )
    voided = gateway.lookup(operation="void", idempotency_key=void_key, reference=to_void.reference)
    assert (captured.outcome, captured.reference) == (Outcome.SUCCEEDED, to_capture.reference)
    assert (voided.outcome, voided.reference) == (Outcome.SUCCEEDED, to_void.reference)


def test_lookup_uses_stripes_search_when_it_has_one(scripted_stripe):
    key = new_key("authorize")
    found = {**PAYMENT_INTENT, "metadata": {"paydesk_idempotency_key": key}}
    scripted_stripe.answer(
        "GET",
        "/v1/payment_intents/search",
        200,
        {"object": "search_result", "data": [found], "has_more": False, "url": "/v1/x"},
    )
    gateway = StripeGateway(API_KEY, api_base=scripted_stripe.url)

    result = gateway.lookup(operation="authorize", idempotency_key=key)

    (search,) = scripted_stripe.requests
    assert search.form["query"] == f'metadata["paydesk_idempotency_key"]:"{key}"'
    assert (result.outcome, result.reference) == (Outcome.SUCCEEDED, "pi_scripted")


@pytest.mark.parametrize(
    ("status", "outcome", "decline_code"),
    [
        ("pending", Outcome.PENDING, ""),
        ("failed", Outcome.DECLINED, "expired_or_canceled_card"),
    ],
)
def test_a_refund_stripe_has_not_settled_is_pending_and_a_failed_one_declined(
    scripted_stripe, status, outcome, decline_code
):
    refund = {"id": "re_scripted", "object": "refund", "amount": 100, "status": status}
    if status == "failed":
        refund["failure_reason"] = decline_code
    scripted_stripe.answer("POST", "/v1/refunds", 200, refund)
    gateway = StripeGateway(API_KEY, api_base=scripted_stripe.url)

    result = refund_charge(gateway, "pi_scripted", 100, new_key("refund"))

    assert (result.outcome, result.reference, result.decline_code) == (
        outcome,
        "re_scripted",
        decline_code,
    )


def test_verify_credentials_reads_the_balance(gateway):
    assert gateway.verify_credentials() == "Stripe test mode: the key can read the balance"


def test_a_rejected_api_key_is_unavailable(localstripe_url):
    gateway = StripeGateway("pk_test_not_a_secret_key", api_base=localstripe_url)

    with pytest.raises(GatewayUnavailableError, match="rejected the API key"):
        gateway.verify_credentials()


def test_authorize_sends_our_idempotency_key_lowercase_currency_and_metadata(scripted_stripe):
    scripted_stripe.answer("POST", "/v1/payment_methods", 200, {"id": "pm_scripted"})
    scripted_stripe.answer("POST", "/v1/payment_intents", 200, PAYMENT_INTENT)
    key = new_key("authorize")

    result = authorize_card(StripeGateway(API_KEY, api_base=scripted_stripe.url), key=key)

    method_request, intent_request = scripted_stripe.requests
    assert method_request.headers["Idempotency-Key"] == f"{key}:payment_method"
    assert intent_request.headers["Idempotency-Key"] == key
    assert intent_request.form["currency"] == "eur"
    assert intent_request.form["capture_method"] == "automatic"
    assert intent_request.form["metadata[paydesk_idempotency_key]"] == key
    assert intent_request.form["metadata[paydesk_payment_id]"] == "pay_test"
    assert "description" not in intent_request.form
    assert (result.outcome, result.reference) == (Outcome.SUCCEEDED, "pi_scripted")


def test_3ds_is_requested_only_when_asked(scripted_stripe):
    scripted_stripe.answer("POST", "/v1/payment_methods", 200, {"id": "pm_scripted"})
    scripted_stripe.answer("POST", "/v1/payment_intents", 200, PAYMENT_INTENT)
    gateway = StripeGateway(API_KEY, api_base=scripted_stripe.url)
    option = "payment_method_options[card][request_three_d_secure]"

    authorize_card(gateway, three_d_secure=True)
    authorize_card(gateway)

    asked, not_asked = (r.form for r in scripted_stripe.requests if r.path == "/v1/payment_intents")
    assert asked[option] == "any"
    assert option not in not_asked


def test_a_refused_connection_is_unavailable(closed_port_url):
    gateway = StripeGateway(API_KEY, api_base=closed_port_url)

    with pytest.raises(GatewayUnavailableError, match="nothing sent"):
        authorize_card(gateway)


def test_a_server_that_never_answers_is_a_timeout(silent_server_url):
    gateway = StripeGateway(API_KEY, api_base=silent_server_url, timeout_seconds=0.3)

    with pytest.raises(GatewayTimeoutError, match="may have acted"):
        authorize_card(gateway)


@pytest.mark.parametrize("status", [500, 502, 409])
def test_a_5xx_or_409_answer_is_a_timeout(scripted_stripe, status):
    scripted_stripe.answer(
        "GET", "/v1/balance", status, {"error": {"type": "api_error", "message": "Oops."}}
    )
    gateway = StripeGateway(API_KEY, api_base=scripted_stripe.url)

    with pytest.raises(GatewayTimeoutError, match=f"HTTP {status}"):
        gateway.verify_credentials()


def test_an_unreadable_500_answer_is_a_timeout(scripted_stripe):
    gateway = StripeGateway(API_KEY, api_base=scripted_stripe.url)  # unscripted: a bare 500

    with pytest.raises(GatewayTimeoutError, match="HTTP 500"):
        authorize_card(gateway)


@pytest.mark.parametrize(
    ("status", "error_type", "says"),
    [
        (400, "invalid_request_error", "refused the request"),
        (401, "invalid_request_error", "rejected the API key"),
        (429, "invalid_request_error", "rate limited"),
        (400, "idempotency_error", "refused the idempotency key"),
    ],
)
def test_a_4xx_answer_is_unavailable(scripted_stripe, status, error_type, says):
    scripted_stripe.answer(
        "POST", "/v1/refunds", status, {"error": {"type": error_type, "message": "No."}}
    )
    gateway = StripeGateway(API_KEY, api_base=scripted_stripe.url)

    with pytest.raises(GatewayUnavailableError, match=says):
        refund_charge(gateway, "pi_scripted", 100, new_key("refund"))


def _error_texts(error: BaseException) -> str:
    """The error's text and that of everything chained under it, as a traceback shows them."""
    texts = []
    while error is not None:
        texts.append(f"{error!s} {error!r}")
        error = error.__cause__ or error.__context__
    return "\n".join(texts)


def test_the_card_number_and_cvc_never_appear_in_errors_or_logs(
    gateway, closed_port_url, silent_server_url, scripted_stripe, caplog
):
    caplog.set_level(logging.DEBUG, logger="stripe")
    failing = [
        StripeGateway(API_KEY, api_base=closed_port_url),
        StripeGateway(API_KEY, api_base=silent_server_url, timeout_seconds=0.3),
        StripeGateway(API_KEY, api_base=scripted_stripe.url),
    ]
    texts = []
    for failing_gateway in failing:
        with pytest.raises(GatewayError) as raised:
            authorize_card(failing_gateway, number=VISA)
        texts.append(_error_texts(raised.value))
    declined = authorize_card(gateway, number=DECLINED_WHEN_CHARGED)
    texts.append(declined.message)
    authorize_card(gateway, number=VISA)

    assert caplog.records  # the stripe logger did log at DEBUG
    for text in [*texts, caplog.text]:
        assert VISA not in text
        assert DECLINED_WHEN_CHARGED not in text
        assert "card[cvc]" not in text
