"""When to try a failed delivery again: the Standard Webhooks schedule, jittered, and never
sooner than the endpoint's `Retry-After`."""

import datetime as dt
import email.utils
import random

# Delay before attempt n+1 (index n): the first attempt is immediate, the tenth 24 h after
# the ninth. After the last, the delivery is dead-lettered.
RETRY_SCHEDULE = (
    dt.timedelta(0),
    dt.timedelta(seconds=5),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=5),
    dt.timedelta(hours=10),
    dt.timedelta(hours=14),
    dt.timedelta(hours=20),
    dt.timedelta(hours=24),
)
MAX_ATTEMPTS = len(RETRY_SCHEDULE)
# ±10 %: spreads the retries of many deliveries that failed together (an endpoint outage)
# so they do not all land on the endpoint in the same second when it comes back.
JITTER = 0.1
# An endpoint cannot hold a delivery back for longer than our longest step.
RETRY_AFTER_CAP = RETRY_SCHEDULE[-1]


def retry_delay(
    attempts_made: int, *, retry_after: dt.timedelta | None = None
) -> dt.timedelta | None:
    """The wait before the next attempt after `attempts_made` failed ones, or None when
    there is no next attempt."""
    if attempts_made >= MAX_ATTEMPTS:
        return None
    delay = RETRY_SCHEDULE[attempts_made] * random.uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_AFTER_CAP))
    return max(delay, dt.timedelta(0))


def retry_after_parse(value: str | None, *, now: dt.datetime) -> dt.timedelta | None:
    """`Retry-After` as seconds or as an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        cap = int(RETRY_AFTER_CAP.total_seconds())
        # Length first: int() refuses more than 4300 digits.
        return dt.timedelta(seconds=cap if len(value) > 6 else min(int(value), cap))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(when - now, dt.timedelta(0))
