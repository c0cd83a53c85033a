"""Settlement records for reconciliation: against localstripe, which cannot filter by
`created` (so every call there takes the read-it-whole path), and against a scripted Stripe for
the filtered listing real Stripe serves.

The localstripe server is shared by the session: assertions look only at what each test made.
"""

import datetime as dt

import pytest

from payments.gateways import stripe_gateway
from payments.gateways.interface import (
    GatewayTimeoutError,
    GatewayUnavailableError,
    SettlementRecord,
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

HOUR = dt.timedelta(hours=1)


def _records_around_now(gateway: StripeGateway) -> dict[str, SettlementRecord]:
    now = dt.datetime.now(dt.UTC)
    return _by_reference(gateway.settlement_records(start=now - HOUR, end=now + HOUR))


def _by_reference(records: list[SettlementRecord]) -> dict[str, SettlementRecord]:
    return {record.reference: record for record in records}


def _listing(url: str, *objects: dict) -> dict:
    return {"object": "list", "data": list(objects), "has_more": False, "url": url}


def test_a_captured_charge_appears_under_its_payment_intent_with_amount_and_currency(gateway):
    charge = authorize_card(gateway, amount=1234)

    record = _records_around_now(gateway)[charge.reference]

    assert (record.kind, record.amount, record.currency, record.status) == (
        "charge",
        1234,
        "EUR",
        "succeeded",
    )
    assert record.created_at.tzinfo == dt.UTC
    assert VISA not in repr(record)


def test_a_manual_authorization_appears_only_once_captured_with_the_captured_amount(gateway):
    authorized = authorize_card(gateway, capture=False, amount=1000)
    before_capture = _records_around_now(gateway)

    gateway.capture(
        reference=authorized.reference,
        amount=600,
        currency="EUR",
        idempotency_key=new_key("capture"),
    )
    after_capture = _records_around_now(gateway)

    assert authorized.reference not in before_capture
    assert after_capture[authorized.reference].amount == 600
    # localstripe books the 400 left uncaptured as a refund: not a refund of ours.
    assert {r.kind for ref, r in after_capture.items() if ref not in before_capture} == {"charge"}


def test_a_partial_refund_appears_as_a_refund_record_and_leaves_the_charge_whole(gateway):
    charge = authorize_card(gateway, amount=1000)
    refund = refund_charge(gateway, charge.reference, 300, new_key("refund"))

    records = _records_around_now(gateway)

    assert refund.reference.startswith("re_")
    refund_record = records[refund.reference]
    assert (refund_record.kind, refund_record.amount, refund_record.currency) == (
        "refund",
        300,
        "EUR",
    )
    assert refund_record.status == "succeeded"
    assert records[charge.reference].amount == 1000


@pytest.mark.parametrize("number", [DECLINED_WHEN_CHARGED, THREE_DS_REQUIRED])
def test_a_payment_intent_that_captured_nothing_does_not_appear(gateway, number):
    result = authorize_card(gateway, number=number)

    assert result.reference.startswith("pi_")
    assert result.reference not in _records_around_now(gateway)


def test_only_records_created_in_the_half_open_window_appear(gateway):
    charge = authorize_card(gateway, amount=1000)
    refund = refund_charge(gateway, charge.reference, 100, new_key("refund"))
    ours = {charge.reference, refund.reference}

    def references(start: dt.datetime, end: dt.datetime) -> set[str]:
        return ours & set(_by_reference(gateway.settlement_records(start=start, end=end)))

    created_at = _records_around_now(gateway)[charge.reference].created_at
    assert references(created_at - 2 * HOUR, created_at - HOUR) == set()
    assert references(created_at - HOUR, created_at) == set()  # the end is excluded
    assert charge.reference in references(created_at, created_at + dt.timedelta(seconds=1))
    assert references(created_at - HOUR, created_at + HOUR) == ours


def test_without_a_created_filter_more_objects_than_the_scan_limit_fail_the_call(
    gateway, monkeypatch
):
    authorize_card(gateway)
    authorize_card(gateway)
    monkeypatch.setattr(stripe_gateway, "SETTLEMENT_SCAN_LIMIT", 1)

    # A partial list would show as charges missing at the gateway.
    with pytest.raises(GatewayTimeoutError, match="more than 1 objects"):
        _records_around_now(gateway)


def test_stripe_is_asked_for_the_window_and_its_answer_mapped(scripted_stripe):
    created = int(dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC).timestamp())
    intent = {"object": "payment_intent", "currency": "eur", "created": created}
    scripted_stripe.answer(
        "GET",
        "/v1/payment_intents",
        200,
        _listing(
            "/v1/payment_intents",
            {
                **intent,
                "id": "pi_captured",
                "status": "succeeded",
                "amount": 1000,
                "amount_received": 600,
            },
            {
                **intent,
                "id": "pi_held",
                "status": "requires_capture",
                "amount": 800,
                "amount_received": 0,
            },
        ),
    )
    refund = {"object": "refund", "amount": 100, "currency": "eur", "created": created}
    scripted_stripe.answer(
        "GET",
        "/v1/refunds",
        200,
        _listing(
            "/v1/refunds",
            {**refund, "id": "re_pending", "status": "requires_action"},
            {**refund, "id": "re_canceled", "status": "canceled"},
        ),
    )
    gateway = StripeGateway(API_KEY, api_base=scripted_stripe.url)
    start = dt.datetime(2026, 3, 2, 0, 0, 0, 500_000, tzinfo=dt.UTC)

    records = gateway.settlement_records(start=start, end=start + dt.timedelta(days=1))

    at = dt.datetime.fromtimestamp(created, tz=dt.UTC)
    assert records == [
        SettlementRecord("pi_captured", "charge", 600, "EUR", "succeeded", at),
        SettlementRecord("re_pending", "refund", 100, "EUR", "pending", at),
        SettlementRecord("re_canceled", "refund", 100, "EUR", "failed", at),
    ]
    # Stripe's `created` is whole seconds: [00:00:00.5, …) starts at 00:00:01.
    window_start = int(start.timestamp()) + 1
    assert [r.path for r in scripted_stripe.requests] == ["/v1/payment_intents", "/v1/refunds"]
    for request in scripted_stripe.requests:
        assert request.form["created[gte]"] == str(window_start)
        assert request.form["created[lt]"] == str(window_start + 86_400)


def test_a_refusal_that_is_not_about_the_created_filter_is_an_error(scripted_stripe):
    scripted_stripe.answer(
        "GET",
        "/v1/payment_intents",
        400,
        {"error": {"type": "invalid_request_error", "message": "Invalid API version."}},
    )
    gateway = StripeGateway(API_KEY, api_base=scripted_stripe.url)
    now = dt.datetime.now(dt.UTC)

    with pytest.raises(GatewayUnavailableError, match="Invalid API version"):
        gateway.settlement_records(start=now - HOUR, end=now)
    assert len(scripted_stripe.requests) == 1


def test_naive_datetimes_are_refused(gateway):
    with pytest.raises(ValueError, match="timezone-aware"):
        gateway.settlement_records(start=dt.datetime(2026, 3, 2), end=dt.datetime(2026, 3, 3))
