import io
import logging
import re

import pytest

from config.logging import LINE_FORMAT, ScrubbingFormatter, scrub_card_numbers
from tests.conftest import create_payment

RUNBOOK_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[[^\]]+\] (INFO|ERROR) \S+ - "
    r"Payment \w+ for amount [\d.]+ [A-Z]{3} with gateway \w+$"
)


def format_records(records):
    formatter = ScrubbingFormatter(LINE_FORMAT)
    return [formatter.format(record) for record in records]


def payment_lines(caplog):
    return [
        line
        for line in format_records(caplog.records)
        if " - Payment " in line and " for amount " in line
    ]


def test_payment_logs_the_runbook_line_format(api_client, caplog):
    caplog.set_level(logging.INFO)

    create_payment(api_client, amount=1050)

    lines = payment_lines(caplog)
    assert lines
    for line in lines:
        assert RUNBOOK_LINE.match(line), line
    assert any(
        " INFO payments.api.PaymentController - Payment created for amount 10.50 USD "
        "with gateway sandbox" in line
        for line in lines
    )


def test_failed_payment_logs_an_error_line_for_the_payment_service(api_client, caplog):
    caplog.set_level(logging.INFO)

    create_payment(api_client, "4000000000000002", amount=500, currency="jpy")

    lines = payment_lines(caplog)
    failed = [line for line in lines if " ERROR " in line]
    assert failed
    assert all(RUNBOOK_LINE.match(line) for line in lines)
    assert "PaymentService - Payment failed for amount 500 JPY with gateway sandbox" in failed[0]


def test_amounts_in_log_lines_use_the_currency_exponent(api_client, caplog):
    caplog.set_level(logging.INFO)

    create_payment(api_client, amount=1234, currency="kwd")

    assert any("for amount 1.234 KWD" in line for line in payment_lines(caplog))


def test_settings_log_to_the_console_with_the_scrubbing_runbook_formatter():
    handlers = [
        handler
        for handler in logging.getLogger().handlers
        if isinstance(handler.formatter, ScrubbingFormatter)
    ]

    assert handlers
    assert handlers[0].formatter._fmt == LINE_FORMAT


@pytest.mark.parametrize(
    "pan",
    [
        "4242424242424242",
        "4242 4242 4242 4242",
        "4242-4242-4242-4242",
        "378282246310005",
        "3782 822463 10005",
        "4222222222222",
        "6011111111111117",
        "5555555555554444",
        "4000000000000000006",
    ],
)
def test_scrub_masks_luhn_valid_card_numbers(pan):
    digits = re.sub(r"\D", "", pan)

    scrubbed = scrub_card_numbers(f"card {pan} declined")

    assert digits not in re.sub(r"\D", "", scrubbed.replace(digits[-4:], ""))
    assert scrubbed == f"card [PAN REDACTED ****{digits[-4:]}] declined"


@pytest.mark.parametrize(
    "text",
    [
        "amount 1050 USD",
        "order 4242424242424241 (not Luhn-valid)",
        "phone +1 415 555 2671",
        "id 12345678901234567890123 is longer than any card",
        "short 424242424242",
        "at 2026-11-26T05:06:04.882Z",
        "pay_R0zzrO0Rzi9dgrbQHkGTKmzs",
    ],
)
def test_scrub_leaves_other_numbers_alone(text):
    assert scrub_card_numbers(text) == text


def test_scrub_masks_every_card_number_in_a_line():
    scrubbed = scrub_card_numbers("a=4242424242424242 b=5555555555554444 n=1050")

    assert scrubbed == "a=[PAN REDACTED ****4242] b=[PAN REDACTED ****4444] n=1050"


def test_formatter_scrubs_messages_arguments_and_tracebacks():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(ScrubbingFormatter(LINE_FORMAT))
    logger = logging.getLogger("tests.scrub")
    logger.addHandler(handler)
    try:
        logger.error("charging %s", "4242424242424242")
        try:
            raise ValueError("bad card 5555 5555 5555 4444")
        except ValueError:
            logger.exception("gateway call failed")
    finally:
        logger.removeHandler(handler)

    output = stream.getvalue()
    assert "4242424242424242" not in output
    assert "5555 5555 5555 4444" not in output
    assert "[PAN REDACTED ****4242]" in output
    assert "[PAN REDACTED ****4444]" in output
    assert "Traceback" in output


def test_formatter_timestamps_are_utc_iso8601_with_milliseconds():
    record = logging.LogRecord("payments.x", logging.INFO, __file__, 1, "hello", None, None)
    record.created = 0.5
    record.msecs = 500

    line = ScrubbingFormatter(LINE_FORMAT).format(record)

    assert line.startswith("1970-01-01T00:00:00.500Z [")
    assert line.endswith("] INFO payments.x - hello")


def _formatted(message, *args, **kwargs):
    record = logging.LogRecord("payments.x", logging.INFO, __file__, 1, message, args, None)
    for name, value in kwargs.items():
        setattr(record, name, value)
    return ScrubbingFormatter(LINE_FORMAT).format(record)


def test_formatter_scrubs_a_card_number_split_across_arguments():
    # No argument alone has 13 digits; the message they make does.
    line = _formatted("card %s %s %s %s", "4242", "4242", "4242", "4242")

    assert line.endswith(" - card [PAN REDACTED ****4242]")


def test_formatter_leaves_lines_without_a_possible_card_number_as_they_are():
    # The timestamp and thread name hold digits too: only the message decides.
    line = _formatted("Payment %s for amount %s %s", "created", "19.99", "USD")

    assert line.endswith("] INFO payments.x - Payment created for amount 19.99 USD")


def test_formatter_scrubs_stack_info():
    line = _formatted("hello", stack_info='File "x.py", line 1, card=5555555555554444')

    assert "5555555555554444" not in line
    assert "[PAN REDACTED ****4444]" in line


def test_formatter_timestamp_changes_with_the_second():
    formatter = ScrubbingFormatter(LINE_FORMAT)
    stamps = []
    for created in (0.25, 0.75, 1.5, 61.0):
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
        record.created, record.msecs = created, (created % 1) * 1000
        stamps.append(formatter.formatTime(record))

    assert stamps == [
        "1970-01-01T00:00:00.250Z",
        "1970-01-01T00:00:00.750Z",
        "1970-01-01T00:00:01.500Z",
        "1970-01-01T00:01:01.000Z",
    ]
