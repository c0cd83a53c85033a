"""The PayPal gateway against a local stand-in for PayPal's sandbox: card outcomes, follow-up
operations, idempotency, recovery lookups, the access token, and how transport failures map
onto the gateway error taxonomy."""

import logging
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from payments.gateways.interface import GatewayTimeoutError, GatewayUnavailableError, Outcome
from payments.gateways.paypal_gateway import PayPalGateway
from tests.fakes.paypal_sandbox import APP_ID, CLIENT_ID, CLIENT_SECRET
from tests.gateways.paypal.calls import SECURITY_CODE, VISA, card_request


def _wait_for(condition: Callable[[], object], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the sandbox never got there"
        time.sleep(0.02)


def test_a_sale_succeeds_with_the_capture_id_as_reference(paypal, paypal_sandbox):
    result = paypal.authorize(card_request())

    assert (result.outcome, result.amount) == (Outcome.SUCCEEDED, 1050)
    capture = paypal_sandbox.resources["captures"][result.reference]
    assert capture["amount"] == {"currency_code": "USD", "value": "10.50"}
    assert (capture["custom_id"], capture["invoice_id"]) == ("pay_1", "pay_1:authorize:1")


@pytest.mark.parametrize(
    ("currency", "value"), [("USD", "10.50"), ("JPY", "1050"), ("KWD", "1.050")]
)
def test_amounts_are_sent_with_the_currency_minor_unit_exponent(
    paypal, paypal_sandbox, currency, value
):
    result = paypal.authorize(card_request(currency=currency))

    assert result.amount == 1050
    assert paypal_sandbox.resources["captures"][result.reference]["amount"]["value"] == value


def test_an_authorization_then_a_partial_capture_references_the_new_capture(paypal, paypal_sandbox):
    authorization = paypal.authorize(card_request(capture=False))
    capture = paypal.capture(
        reference=authorization.reference,
        amount=600,
        currency="USD",
        idempotency_key="pay_1:capture:2",
    )

    assert authorization.outcome == Outcome.SUCCEEDED
    assert authorization.reference in paypal_sandbox.resources["authorizations"]
    assert (capture.outcome, capture.amount) == (Outcome.SUCCEEDED, 600)
    assert paypal_sandbox.resources["captures"][capture.reference]["amount"]["value"] == "6.00"
    assert paypal_sandbox.resources["authorizations"][authorization.reference]["status"] == (
        "CAPTURED"
    )


def test_a_void_releases_the_authorization_and_a_later_capture_is_refused(paypal, paypal_sandbox):
    authorization = paypal.authorize(card_request(capture=False))

    void = paypal.void(reference=authorization.reference, idempotency_key="pay_1:void:2")
    late = paypal.capture(
        reference=authorization.reference,
        amount=1050,
        currency="USD",
        idempotency_key="pay_1:capture:3",
    )

    assert (void.outcome, void.reference, void.amount) == (
        Outcome.SUCCEEDED,
        authorization.reference,
        1050,
    )
    assert paypal_sandbox.resources["authorizations"][authorization.reference]["status"] == (
        "VOIDED"
    )
    assert (late.outcome, late.error_code) == (Outcome.DECLINED, "authorization_voided")
    assert paypal_sandbox.resources["captures"] == {}


def test_a_partial_refund_succeeds_and_a_refund_beyond_the_captured_amount_is_declined(
    paypal, paypal_sandbox
):
    sale = paypal.authorize(card_request())

    partial = paypal.refund(
        reference=sale.reference, amount=400, currency="USD", idempotency_key="re_1:refund"
    )
    too_much = paypal.refund(
        reference=sale.reference, amount=651, currency="USD", idempotency_key="re_2:refund"
    )
    rest = paypal.refund(
        reference=sale.reference, amount=650, currency="USD", idempotency_key="re_3:refund"
    )

    assert (partial.outcome, partial.amount) == (Outcome.SUCCEEDED, 400)
    assert partial.reference in paypal_sandbox.resources["refunds"]
    assert (too_much.outcome, too_much.error_code, too_much.reference) == (
        Outcome.DECLINED,
        "amount_too_large",
        "",
    )
    assert (rest.outcome, rest.amount) == (Outcome.SUCCEEDED, 650)
    assert paypal_sandbox.resources["captures"][sale.reference]["status"] == "REFUNDED"
    assert len(paypal_sandbox.resources["refunds"]) == 2


def test_a_refund_of_an_unknown_capture_is_declined_as_missing(paypal):
    result = paypal.refund(
        reference="NOSUCHCAPTURE", amount=100, currency="USD", idempotency_key="re_1:refund"
    )

    assert (result.outcome, result.error_code) == (Outcome.DECLINED, "resource_missing")


@pytest.mark.parametrize(
    ("number", "decline_code"),
    [
        ("4000000000000002", "generic_decline"),  # 422 INSTRUMENT_DECLINED
        ("4000000000009995", "insufficient_funds"),  # processor response 5120
        ("4000000000000069", "expired_card"),  # processor response 5400
        ("4000000000000127", "incorrect_cvc"),  # processor response 5110, CVV no match
    ],
)
@pytest.mark.parametrize("capture", [True, False], ids=["sale", "authorization"])
def test_each_decline_card_maps_to_its_decline_code(paypal, number, decline_code, capture):
    result = paypal.authorize(card_request(number=number, capture=capture))

    assert (result.outcome, result.error_code, result.decline_code) == (
        Outcome.DECLINED,
        "card_declined",
        decline_code,
    )
    assert result.message
    assert not result.retryable


def test_a_card_past_its_expiry_date_is_declined_as_expired(paypal):
    result = paypal.authorize(card_request(exp_year=2020))

    assert (result.outcome, result.decline_code) == (Outcome.DECLINED, "expired_card")


@pytest.mark.parametrize(
    ("number", "three_d_secure"),
    [(VISA, True), ("4000002760003184", False)],
    ids=["requested", "card_requires_it"],
)
def test_three_d_secure_requires_a_redirect_to_the_payer_action_link(
    paypal, paypal_sandbox, number, three_d_secure
):
    result = paypal.authorize(card_request(number=number, three_d_secure=three_d_secure))

    order = paypal_sandbox.resources["orders"][result.reference]
    (payer_action,) = [link["href"] for link in order["links"] if link["rel"] == "payer-action"]
    assert (result.outcome, result.amount) == (Outcome.REQUIRES_ACTION, 1050)
    assert result.next_action == {
        "type": "redirect_to_url",
        "redirect_to_url": {"url": payer_action},
    }
    assert paypal_sandbox.resources["captures"] == {}


@pytest.mark.parametrize("capture", [True, False], ids=["sale", "authorization"])
def test_an_order_paypal_leaves_approved_is_completed_with_a_second_call(
    paypal, paypal_sandbox, capture
):
    paypal_sandbox.single_step = False

    result = paypal.authorize(card_request(capture=capture))

    kind, action = ("captures", "capture") if capture else ("authorizations", "authorize")
    assert result.outcome == Outcome.SUCCEEDED
    assert result.reference in paypal_sandbox.resources[kind]
    (second,) = [call for call in paypal_sandbox.requests if call[1].endswith(f"/{action}")]
    assert second[2] == f"pay_1:authorize:1:{action}"


def test_every_write_carries_our_idempotency_key_as_paypal_request_id(paypal, paypal_sandbox):
    authorization = paypal.authorize(card_request(capture=False))
    capture = paypal.capture(
        reference=authorization.reference,
        amount=1050,
        currency="USD",
        idempotency_key="pay_1:capture:2",
    )
    paypal.refund(
        reference=capture.reference, amount=50, currency="USD", idempotency_key="re_1:refund"
    )

    writes = [(path, key) for method, path, key in paypal_sandbox.requests if method == "POST"]
    assert [key for path, key in writes if path != "/v1/oauth2/token"] == [
        "pay_1:authorize:1",
        "pay_1:capture:2",
        "re_1:refund",
    ]


def test_a_retried_sale_with_the_same_idempotency_key_charges_once(paypal, paypal_sandbox):
    paypal_sandbox.fail_next(after_processing=True)
    with pytest.raises(GatewayTimeoutError):
        paypal.authorize(card_request())

    retried = paypal.authorize(card_request())

    assert retried.outcome == Outcome.SUCCEEDED
    assert list(paypal_sandbox.resources["captures"]) == [retried.reference]


def test_a_retried_refund_with_the_same_idempotency_key_refunds_once(paypal, paypal_sandbox):
    sale = paypal.authorize(card_request())
    paypal_sandbox.fail_next(after_processing=True)
    with pytest.raises(GatewayTimeoutError):
        paypal.refund(
            reference=sale.reference, amount=300, currency="USD", idempotency_key="re_1:refund"
        )

    retried = paypal.refund(
        reference=sale.reference, amount=300, currency="USD", idempotency_key="re_1:refund"
    )

    assert retried.outcome == Outcome.SUCCEEDED
    assert list(paypal_sandbox.resources["refunds"]) == [retried.reference]


def test_the_access_token_is_fetched_once_and_shared_by_threads(paypal, paypal_sandbox):
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(lambda n: paypal.authorize(card_request(f"pay_{n}:authorize:1")), range(16))
        )

    assert {result.outcome for result in results} == {Outcome.SUCCEEDED}
    assert paypal_sandbox.tokens_issued == 1


def test_a_token_paypal_refuses_is_refreshed_once_and_the_call_goes_through(paypal, paypal_sandbox):
    paypal.authorize(card_request("pay_1:authorize:1"))
    paypal_sandbox.revoke_tokens()

    result = paypal.authorize(card_request("pay_2:authorize:1"))

    assert result.outcome == Outcome.SUCCEEDED
    assert paypal_sandbox.tokens_issued == 2
    assert len(paypal_sandbox.resources["captures"]) == 2


def test_a_401_after_refreshing_the_token_raises_unavailable(paypal, paypal_sandbox):
    paypal_sandbox.fail_next(2, status=401)

    with pytest.raises(GatewayUnavailableError):
        paypal.authorize(card_request())

    assert paypal_sandbox.tokens_issued == 2
    assert paypal_sandbox.resources["orders"] == {}


def test_connection_refused_raises_unavailable(paypal, paypal_sandbox):
    paypal.verify_credentials()  # a token in hand: the order call itself finds no server
    paypal_sandbox.stop()

    with pytest.raises(GatewayUnavailableError, match="ConnectionError"):
        paypal.authorize(card_request())


def test_nothing_listening_when_fetching_a_token_raises_unavailable():
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    gateway = PayPalGateway(CLIENT_ID, CLIENT_SECRET, api_base=f"http://127.0.0.1:{port}")

    with pytest.raises(GatewayUnavailableError):
        gateway.authorize(card_request())


def test_a_read_timeout_raises_timeout_and_lookup_later_finds_the_charge(
    paypal_sandbox, paypal_url
):
    gateway = PayPalGateway(CLIENT_ID, CLIENT_SECRET, api_base=paypal_url, timeout_seconds=0.3)
    gateway.verify_credentials()
    paypal_sandbox.delay_seconds = 1.0

    with pytest.raises(GatewayTimeoutError):
        gateway.authorize(card_request())

    _wait_for(lambda: paypal_sandbox.resources["captures"])  # PayPal charged all the same
    paypal_sandbox.delay_seconds = 0
    found = gateway.lookup(operation="authorize", idempotency_key="pay_1:authorize:1")
    assert found is not None
    assert found.outcome == Outcome.SUCCEEDED
    assert list(paypal_sandbox.resources["captures"]) == [found.reference]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, GatewayTimeoutError),
        (503, GatewayTimeoutError),
        (400, GatewayUnavailableError),
        (403, GatewayUnavailableError),
        (429, GatewayUnavailableError),
    ],
)
def test_http_errors_map_onto_the_gateway_error_taxonomy(paypal, paypal_sandbox, status, error):
    paypal_sandbox.fail_next(status=status)

    with pytest.raises(error, match=str(status)):
        paypal.authorize(card_request())


def test_lookup_finds_a_sale_whose_answer_was_lost(paypal, paypal_sandbox):
    paypal_sandbox.fail_next(after_processing=True)
    with pytest.raises(GatewayTimeoutError):
        paypal.authorize(card_request())

    found = paypal.lookup(operation="authorize", idempotency_key="pay_1:authorize:1")

    assert found is not None
    assert (found.outcome, found.amount) == (Outcome.SUCCEEDED, 1050)
    assert list(paypal_sandbox.resources["captures"]) == [found.reference]


def test_lookup_finds_a_decline_whose_answer_was_lost(paypal, paypal_sandbox):
    paypal_sandbox.fail_next(after_processing=True)
    with pytest.raises(GatewayTimeoutError):
        paypal.authorize(card_request(number="4000000000009995"))

    found = paypal.lookup(operation="authorize", idempotency_key="pay_1:authorize:1")

    assert found is not None
    assert (found.outcome, found.decline_code) == (Outcome.DECLINED, "insufficient_funds")


def test_lookup_of_an_authorization_paypal_never_received_is_none_and_nothing_can_charge(
    paypal, paypal_sandbox
):
    first = paypal.lookup(operation="authorize", idempotency_key="pay_9:authorize:1")
    again = paypal.lookup(operation="authorize", idempotency_key="pay_9:authorize:1")
    # A late copy of the original request meets the probe's order, not a new charge.
    with pytest.raises(GatewayUnavailableError, match="charged nothing"):
        paypal.authorize(card_request("pay_9:authorize:1"))

    assert (first, again) == (None, None)
    (probe,) = paypal_sandbox.resources["orders"].values()
    assert (probe["status"], "payment_source" in probe) == ("CREATED", False)
    assert paypal_sandbox.resources["captures"] == {}


def test_lookup_finds_a_capture_and_a_refund_by_their_idempotency_keys(paypal):
    authorization = paypal.authorize(card_request(capture=False))
    capture = paypal.capture(
        reference=authorization.reference,
        amount=1050,
        currency="USD",
        idempotency_key="pay_1:capture:2",
    )
    refund = paypal.refund(
        reference=capture.reference, amount=300, currency="USD", idempotency_key="re_1:refund"
    )

    def lookup(operation: str, key: str, reference: str):
        return paypal.lookup(operation=operation, idempotency_key=key, reference=reference)

    assert lookup("capture", "pay_1:capture:2", authorization.reference) == capture
    assert lookup("capture", "pay_1:capture:3", authorization.reference) is None
    assert lookup("refund", "re_1:refund", capture.reference) == refund
    assert lookup("refund", "re_2:refund", capture.reference) is None
    assert lookup("refund", "re_1:refund", "NOSUCHCAPTURE") is None


def test_lookup_of_a_void_reports_whether_the_authorization_is_voided(paypal):
    authorization = paypal.authorize(card_request(capture=False))

    before = paypal.lookup(
        operation="void", idempotency_key="pay_1:void:2", reference=authorization.reference
    )
    void = paypal.void(reference=authorization.reference, idempotency_key="pay_1:void:2")
    after = paypal.lookup(
        operation="void", idempotency_key="pay_1:void:2", reference=authorization.reference
    )

    assert before is None
    assert after == void


def test_retrieve_reads_captures_authorizations_and_orders_awaiting_the_payer(paypal):
    sale = paypal.authorize(card_request("pay_1:authorize:1"))
    declined = paypal.authorize(card_request("pay_2:authorize:1", "4000000000009995"))
    authorization = paypal.authorize(card_request("pay_3:authorize:1", capture=False))
    awaiting_payer = paypal.authorize(card_request("pay_4:authorize:1", three_d_secure=True))

    for result in (sale, declined, authorization, awaiting_payer):
        assert paypal.retrieve(reference=result.reference) == result
    assert paypal.retrieve(reference="NOSUCHPAYMENT") is None


def test_verify_credentials_reports_the_app_and_refuses_bad_credentials(
    paypal, paypal_sandbox, paypal_url
):
    wrong = PayPalGateway(CLIENT_ID, "not-the-secret", api_base=paypal_url)

    assert APP_ID in paypal.verify_credentials()
    with pytest.raises(GatewayUnavailableError, match="401") as refused:
        wrong.verify_credentials()

    assert "not-the-secret" not in f"{refused.value} {wrong!r}"
    assert paypal_sandbox.tokens_issued == 1


def test_no_card_number_or_security_code_reaches_an_error_or_a_log(paypal, paypal_sandbox, caplog):
    # Fails the Luhn check: the sandbox's 400 echoes it, as PayPal's validation errors can.
    number = "4242424242424241"
    errors = []
    with caplog.at_level(logging.DEBUG):
        for prepare in (
            lambda: None,
            lambda: paypal_sandbox.fail_next(status=500),
            paypal_sandbox.stop,
        ):
            prepare()
            with pytest.raises((GatewayTimeoutError, GatewayUnavailableError)) as raised:
                paypal.authorize(card_request(number=number))
            errors.append(raised.value)

    assert "400 INVALID_REQUEST" in str(errors[0])  # PayPal's answer, which echoed the number
    for error in errors:
        # No link back to requests' exception, whose request holds the body we sent.
        assert (error.__cause__, error.__context__) == (None, None)
        assert number not in f"{error} {error!r}"
        assert SECURITY_CODE not in f"{error} {error!r}"
    assert number not in caplog.text
    assert SECURITY_CODE not in caplog.text
