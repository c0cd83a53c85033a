"""Logging in the runbook's line format, with card numbers scrubbed from every line.

Format: `TIMESTAMP [thread] LEVEL logger - message` (the Logstash grok in the ops guide).
"""

import logging
import re
import time
from typing import Any

LINE_FORMAT = "%(asctime)s [%(threadName)s] %(levelname)s %(name)s - %(message)s"

# 13-19 digits, optionally separated by single spaces or dashes (how PANs get pasted).
_PAN_CANDIDATE = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _mask(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if not luhn_valid(digits):
        return match.group(0)
    return f"[PAN REDACTED ****{digits[-4:]}]"


def scrub_card_numbers(text: str) -> str:
    """Replace anything that looks like a card number (Luhn-valid 13-19 digits)."""
    return _PAN_CANDIDATE.sub(_mask, text)


# Fewer than this many digits cannot hold a card number: the regex need not look.
_PAN_MIN_DIGITS = 13
_DROP_DIGITS = str.maketrans("", "", "0123456789")


def _could_hold_card_number(text: str) -> bool:
    return len(text) - len(text.translate(_DROP_DIGITS)) >= _PAN_MIN_DIGITS


def contains_card_number(text: str) -> bool:
    """Whether `text` holds what `scrub_card_numbers` would redact."""
    return _could_hold_card_number(text) and any(
        luhn_valid(re.sub(r"\D", "", match.group(0))) for match in _PAN_CANDIDATE.finditer(text)
    )


class ScrubbingFormatter(logging.Formatter):
    """Runbook line format, UTC ISO-8601 timestamps, PAN-like digits redacted (message and
    traceback alike).

    Every payment logs two lines, so this is on the hot path: the line is scrubbed only when
    its message, traceback or stack could hold a card number (the header before them, time,
    thread, level and logger, never does), and the time up to the second is formatted once
    per second."""

    converter = time.gmtime
    _second: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        cached_second, stamp = self._second
        if second != cached_second:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", self.converter(second))
            self._second = (second, stamp)
        return f"{stamp}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)  # sets record.message and record.exc_text
        if record.exc_text or record.stack_info or _could_hold_card_number(record.message):
            return scrub_card_numbers(line)
        return line


def logging_tune() -> None:
    """Skip what our line format never prints: the caller's file and line (a stack walk per
    record), the process id and the multiprocessing process name (the logging HOWTO's
    optimizations)."""
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logProcesses = False
    logging.logMultiprocessing = False


def logging_config(level: str) -> dict[str, Any]:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "runbook": {"()": ScrubbingFormatter, "format": LINE_FORMAT},
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "runbook"},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "INFO"},
            "pgserver": {"level": "WARNING"},
            # django-axes logs every sign-in at INFO; lockouts are security events anyway.
            "axes": {"level": "WARNING"},
        },
    }
