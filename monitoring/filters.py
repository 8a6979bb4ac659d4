"""Query-string parsing shared by the metrics endpoints: time windows and label filters."""

import re
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError

_WINDOW = re.compile(r"^(\d+)([smhd]?)$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_WINDOW = timedelta(days=366)


def parse_window(text: str, field: str = "window") -> timedelta:
    """`90`, `90s`, `15m`, `1h`, `7d` -> a timedelta."""
    match = _WINDOW.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValidationError({field: [f"Expected a duration like 90s, 15m, 1h or 7d, not {text!r}."]})
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    # Compared before building the timedelta: a huge number would overflow it.
    if seconds > MAX_WINDOW.total_seconds():
        raise ValidationError({field: ["The longest window is 366d."]})
    return timedelta(seconds=seconds)


def parse_time(text: str, field: str) -> datetime:
    """An ISO 8601 time (naive times are in the server's time zone)."""
    try:
        value = parse_datetime(text.strip())
    except ValueError:  # well-formed but impossible, like February 30th
        value = None
    if value is None:
        raise ValidationError(
            {field: [f"Expected an ISO 8601 time like 2026-01-31T12:00:00Z, not {text!r}."]}
        )
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def time_range(params, default_window: timedelta) -> tuple[datetime, datetime]:
    """`?since=` (a time) or `?window=` (a duration back from now), and optional `?until=`."""
    if "since" in params and "window" in params:
        raise ValidationError({"since": ["Give either since or window, not both."]})
    until = parse_time(params["until"], "until") if "until" in params else timezone.now()
    if "since" in params:
        since = parse_time(params["since"], "since")
    else:
        window = parse_window(params["window"]) if "window" in params else default_window
        try:
            since = until - window
        except OverflowError:  # a window reaching back before year 1
            raise ValidationError({"window": ["The window reaches back before year 1."]}) from None
    if since >= until:
        raise ValidationError({"since": ["since must be before until."]})
    return since, until


def parse_labels(values: list[str]) -> dict[str, str]:
    """Repeated `?label=key:value` (or `key=value`) -> {key: value}."""
    labels = {}
    for item in values:
        key, separator, value = item.partition(":") if ":" in item else item.partition("=")
        if not separator or not key:
            raise ValidationError({"label": [f"Expected key:value, not {item!r}."]})
        labels[key.strip()] = value.strip()
    return labels
