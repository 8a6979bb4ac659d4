"""How the pages write a run's numbers: thousands separators, human
durations, rates only when they mean something, and what a rolled-back run
wrote. static/etlsite/live.js writes the same figures the same way.

    {% load run_display %}
    {{ execution.rows_read|thousands }}  {{ progress.elapsed_seconds|duration }}
    {{ counters|component_rate }}        {% rows_written execution %}
"""

from django import template
from django.utils.html import format_html

from execution.charts import human_duration
from execution.models import State

register = template.Library()

# Below this a component's rate is noise (79,337,094.5 rows/s for 0.0001 s of
# work): shown as "—".
MIN_RATE_SECONDS = 0.1
# Their sinks rolled back: what they counted was never committed.
ROLLED_BACK = (State.STOPPED, State.FAILED)


@register.filter
def thousands(value):
    """1234567 -> "1,234,567"; 1234.5 -> "1,234.5"; None -> "—"."""
    if value is None or value == "":
        return "—"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    if number == int(number):
        return f"{int(number):,}"
    return f"{number:,.1f}"


def _rate(rate: float) -> str:
    # 76,146 rows/s, not 76,146.5: a decimal only while it still says something.
    return thousands(round(rate) if rate >= 100 else rate)


@register.filter
def duration(seconds):
    return human_duration(seconds)


@register.filter
def component_rate(counters: dict):
    """A component's rows per second, or "—" when it worked too briefly to tell."""
    rate = counters.get("rows_per_second")
    if rate is None or (counters.get("seconds") or 0) < MIN_RATE_SECONDS:
        return "—"
    return _rate(rate)


@register.filter
def run_rate(rate, elapsed_seconds):
    """A run's rows per second, with the same minimum duration."""
    if rate is None or (elapsed_seconds or 0) < MIN_RATE_SECONDS:
        return "—"
    return _rate(rate)


@register.simple_tag
def rows_written(execution):
    """The rows a run committed; "rolled back" for a stopped or failed one."""
    if execution.state in ROLLED_BACK:
        staged = execution.rows_written
        title = f"{staged:,} rows were staged, none committed" if staged else "nothing was committed"
        return format_html('<span class="rolled-back" title="{}">rolled back</span>', title)
    return thousands(execution.rows_written)
