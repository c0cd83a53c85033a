"""Durations on the command line (`--expires-in=1h`, `--older-than=90d`), shared by every
app's commands: it lives at the bottom layer so that fraud and payments can both use it."""

import datetime as dt
import re

from django.core.management.base import CommandError

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> dt.timedelta:
    """'90d', '24h', '30m', '2w' → timedelta."""
    match = re.fullmatch(r"\s*(\d+)\s*([smhdw])\s*", text)
    if not match:
        raise CommandError(
            f"Invalid duration {text!r}: use a number and s, m, h, d or w (e.g. 90d)."
        )
    return dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
