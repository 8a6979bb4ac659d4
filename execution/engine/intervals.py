"""Run intervals: `${interval_start}` / `${interval_end}`, the span of time a
run stands for (ISO 8601 text), and cutting a range into intervals.

A scheduled run's interval is its cron slot: from the time it was scheduled
for to the next cron time. A backfill cuts `start..end` into hours, days,
weeks (7 days from `start`) or calendar months; the last one ends at `end`.
"""

from __future__ import annotations

import datetime as dt

from dateutil.relativedelta import relativedelta

INTERVAL_START, INTERVAL_END = "interval_start", "interval_end"
INTERVAL_PARAMETERS = (INTERVAL_START, INTERVAL_END)
UNITS = {
    "hour": relativedelta(hours=1),
    "day": relativedelta(days=1),
    "week": relativedelta(weeks=1),
    "month": relativedelta(months=1),
}


def parse_instant(value) -> dt.datetime:
    """ISO 8601 text (a date, or a date and time; without a zone: UTC) as an aware datetime."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"{value!r} is not an ISO 8601 date or time, like 2026-01-31T00:00:00Z."
            ) from None
    else:
        raise ValueError(f"{value!r} is not an ISO 8601 date or time (give text).")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def iso(instant: dt.datetime) -> str:
    return instant.isoformat()


def cut(start: dt.datetime, end: dt.datetime, unit: str, limit: int) -> list[tuple[dt.datetime, dt.datetime]]:
    """`start..end` in intervals of `unit`; ValueError past `limit` intervals."""
    step = UNITS[unit]
    intervals = []
    n = 0
    current = start
    while current < end:
        n += 1
        if n > limit:
            raise ValueError(
                f"More than {limit} intervals of a {unit}; backfill a shorter range or larger intervals."
            )
        following = min(start + step * n, end)
        intervals.append((current, following))
        current = following
    return intervals


def interval_values(start: dt.datetime, end: dt.datetime) -> dict[str, str]:
    return {INTERVAL_START: iso(start), INTERVAL_END: iso(end)}
