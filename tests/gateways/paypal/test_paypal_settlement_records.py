"""Settlement records for reconciliation, read from the sandbox's Transaction Search: what
counts as a charge or a refund of ours, amounts and references, the window, PayPal's 31-day
limit per call, paging, the search's lag, and errors."""

import datetime as dt

import pytest

from payments.gateways.interface import (
    GatewayTimeoutError,
    GatewayUnavailableError,
    SettlementRecord,
)
from tests.fakes.paypal_sandbox import INSTRUMENT_DECLINED
from tests.gateways.paypal.calls import ISSUER_DECLINED, card_request

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
MONDAY = dt.datetime(2025, 3, 10, tzinfo=dt.UTC)


def _records_around_now(paypal) -> list[SettlementRecord]:
    now = dt.datetime.now(dt.UTC)
    return paypal.settlement_records(start=now - HOUR, end=now + HOUR)


def _sale_at(paypal, paypal_sandbox, moment: dt.datetime, key: str) -> str:
    """A sale PayPal makes at `moment`; its capture id."""
    paypal_sandbox.frozen_at = moment
    try:
        return paypal.authorize(card_request(key)).reference
    finally:
        paypal_sandbox.frozen_at = None


@pytest.mark.parametrize("currency", ["USD", "JPY", "KWD"])
def test_a_sale_is_a_charge_under_its_capture_id_in_minor_units(paypal, currency):
    sale = paypal.authorize(card_request(currency=currency))

    (record,) = _records_around_now(paypal)

    assert (record.kind, record.reference, record.amount, record.currency, record.status) == (
        "charge",
        sale.reference,
        1050,
        currency,
        "succeeded",
    )
    assert record.created_at.tzinfo == dt.UTC


def test_a_partial_refund_is_a_refund_under_its_own_id_and_leaves_the_charge_whole(paypal):
    sale = paypal.authorize(card_request())
    refund = paypal.refund(
        reference=sale.reference, amount=400, currency="USD", idempotency_key="re_1:refund"
    )

    records = {record.kind: record for record in _records_around_now(paypal)}

    assert (records["charge"].reference, records["charge"].amount) == (sale.reference, 1050)
    assert (records["refund"].reference, records["refund"].amount) == (refund.reference, 400)
    assert records["refund"].status == "succeeded"


def test_an_authorization_appears_only_once_captured_under_the_capture_id(paypal):
    authorization = paypal.authorize(card_request(capture=False))
    before_capture = _records_around_now(paypal)

    capture = paypal.capture(
        reference=authorization.reference,
        amount=600,
        currency="USD",
        idempotency_key="pay_1:capture:2",
    )
    (record,) = _records_around_now(paypal)

    assert before_capture == []
    assert (record.kind, record.reference, record.amount) == ("charge", capture.reference, 600)


def test_declines_and_voided_authorizations_do_not_appear(paypal):
    paypal.authorize(card_request("pay_1:authorize:1", INSTRUMENT_DECLINED))
    paypal.authorize(card_request("pay_2:authorize:1", ISSUER_DECLINED))
    paypal.authorize(card_request("pay_3:authorize:1", ISSUER_DECLINED, capture=False))
    authorization = paypal.authorize(card_request("pay_4:authorize:1", capture=False))
    paypal.void(reference=authorization.reference, idempotency_key="pay_4:void:2")

    assert _records_around_now(paypal) == []


def test_only_movements_initiated_in_the_window_are_listed(paypal, paypal_sandbox):
    tuesday = MONDAY + DAY
    _sale_at(paypal, paypal_sandbox, MONDAY - dt.timedelta(seconds=1), "pay_1:authorize:1")
    first = _sale_at(paypal, paypal_sandbox, MONDAY, "pay_2:authorize:1")
    last = _sale_at(paypal, paypal_sandbox, tuesday - dt.timedelta(seconds=1), "pay_3:authorize:1")
    # The sandbox, like PayPal for all it documents, lists a row made at end_date itself.
    _sale_at(paypal, paypal_sandbox, tuesday, "pay_4:authorize:1")

    records = paypal.settlement_records(start=MONDAY, end=tuesday)

    assert [record.reference for record in records] == [first, last]
    assert records[0].created_at == MONDAY


def test_a_window_longer_than_paypal_serves_at_once_is_searched_in_parts(paypal, paypal_sandbox):
    early = _sale_at(paypal, paypal_sandbox, MONDAY + HOUR, "pay_1:authorize:1")
    late = _sale_at(paypal, paypal_sandbox, MONDAY + 40 * DAY, "pay_2:authorize:1")

    records = paypal.settlement_records(start=MONDAY, end=MONDAY + 45 * DAY)

    assert [record.reference for record in records] == [early, late]
    windows = [
        (
            dt.datetime.fromisoformat(search["start_date"]),
            dt.datetime.fromisoformat(search["end_date"]),
        )
        for search in paypal_sandbox.searches
    ]
    assert len(windows) == 2
    assert all(end - start <= 31 * DAY for start, end in windows)
    assert (windows[0][0], windows[0][1], windows[1][1]) == (
        MONDAY,
        windows[1][0],
        MONDAY + 45 * DAY,
    )


def test_every_page_of_the_search_is_read(paypal, paypal_sandbox):
    booked = [
        paypal_sandbox.book("T0006", {"currency_code": "USD", "value": "1.00"})["transaction_id"]
        for _ in range(1001)
    ]

    records = _records_around_now(paypal)

    assert sorted(record.reference for record in records) == sorted(booked)
    assert [(search["page"], search["page_size"]) for search in paypal_sandbox.searches] == [
        ("1", "500"),
        ("2", "500"),
        ("3", "500"),
    ]


@pytest.mark.parametrize(
    ("event_code", "value", "status", "expected"),
    [
        ("T0006", "10.50", "S", ("charge", 1050, "succeeded")),
        ("T0003", "10.50", "S", ("charge", 1050, "succeeded")),
        ("T0006", "10.50", "P", ("charge", 1050, "pending")),
        ("T0006", "10.50", "D", ("charge", 1050, "failed")),
        # Fully refunded or charged back since: the charge took place, its reversal is a row
        # of its own.
        ("T0006", "10.50", "V", ("charge", 1050, "succeeded")),
        ("T0006", "10.50", "X", ("charge", 1050, "failed")),  # a status PayPal adds later
        ("T1107", "-4.00", "S", ("refund", 400, "succeeded")),
        ("T1107", "-4.00", "P", ("refund", 400, "pending")),
        ("T1107", "-4.00", "V", ("refund", 400, "failed")),
    ],
)
def test_paypal_event_codes_and_statuses_map_onto_settlement_records(
    paypal, paypal_sandbox, event_code, value, status, expected
):
    row = paypal_sandbox.book(event_code, {"currency_code": "EUR", "value": value}, status=status)

    (record,) = _records_around_now(paypal)

    assert (record.kind, record.amount, record.status) == expected
    assert (record.reference, record.currency) == (row["transaction_id"], "EUR")


@pytest.mark.parametrize(
    ("event_code", "value"),
    [
        ("T1300", "10.50"),  # an authorization
        ("T1106", "-10.50"),  # a reversal PayPal made (a chargeback): a dispute, not our refund
        ("T0001", "-5.00"),  # a payment the account sent
        ("T0400", "-50.00"),  # a withdrawal to the bank
    ],
)
def test_movements_that_are_no_charge_or_refund_of_ours_are_left_out(
    paypal, paypal_sandbox, event_code, value
):
    paypal_sandbox.book(event_code, {"currency_code": "USD", "value": value})

    assert _records_around_now(paypal) == []


def test_a_search_paypal_has_not_refreshed_up_to_the_window_end_fails(paypal, paypal_sandbox):
    paypal_sandbox.search_lag = 3 * HOUR
    now = dt.datetime.now(dt.UTC)

    with pytest.raises(GatewayTimeoutError, match="refreshed up to"):
        paypal.settlement_records(start=now - DAY, end=now - 2 * HOUR)
    assert paypal.settlement_records(start=now - DAY, end=now - 4 * HOUR) == []


def test_naive_datetimes_are_refused(paypal):
    with pytest.raises(ValueError, match="timezone-aware"):
        paypal.settlement_records(start=dt.datetime(2025, 3, 10), end=dt.datetime(2025, 3, 11))


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, GatewayUnavailableError),
        (403, GatewayUnavailableError),  # the app may not use Transaction Search
        (500, GatewayTimeoutError),
        (503, GatewayTimeoutError),
    ],
)
def test_search_errors_map_onto_the_gateway_error_taxonomy(paypal, paypal_sandbox, status, error):
    paypal_sandbox.fail_next(status=status)

    with pytest.raises(error, match=str(status)):
        _records_around_now(paypal)


def test_an_unreachable_paypal_raises_unavailable(paypal, paypal_sandbox):
    paypal.verify_credentials()  # a token in hand: the search itself finds no server
    paypal_sandbox.stop()

    with pytest.raises(GatewayUnavailableError, match="ConnectionError"):
        _records_around_now(paypal)
