"""Date arguments of the runbook's scripts: `--from=2024-01-01 --to=2024-01-02` mean whole UTC
days, both included; an ISO time (`2024-01-01T10:00`) means that moment."""

import datetime as dt


def window_bound(text: str, *, end: bool) -> dt.datetime:
    """The start (or, with `end`, the last microsecond) of a day, or an ISO time, in UTC.
    Raises ValueError with a message for people."""
    try:
        if len(text) == 10:
            start = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), tzinfo=dt.UTC)
            return start + dt.timedelta(days=1, microseconds=-1) if end else start
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"Invalid date {text!r}: use 2024-01-01 or 2024-01-01T10:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
