"""Custom metrics: named series with labels, from clients (POST /metrics/custom)
or from jobs (the engine's `metric` component, through `record_custom_metrics`)."""

import math
import re
from collections import defaultdict

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from jobs.models import Job
from monitoring.models import CustomMetric

# Prometheus-compatible names, so a series can be exported as it is.
NAME_PATTERN = re.compile(r"^[A-Za-z_:][A-Za-z0-9_:]{0,199}$")
LABEL_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
MAX_LABELS = 20
MAX_POINTS = 10_000


class MetricError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def clean_name(name) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise MetricError(
            "name", "Use letters, digits, '_' or ':' (not starting with a digit), at most 200 characters."
        )
    return name


def clean_value(value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MetricError("value", "Expected a finite number.")
    return float(value)


def _job_value(value) -> float | None:
    # A job's aggregate over no rows is NULL: recorded as "no value", not refused.
    return None if value is None else clean_value(value)


def clean_labels(labels) -> dict[str, str]:
    if labels is None:
        return {}
    if not isinstance(labels, dict):
        raise MetricError("labels", "Expected an object of label names to string values.")
    if len(labels) > MAX_LABELS:
        raise MetricError("labels", f"At most {MAX_LABELS} labels.")
    cleaned = {}
    for key, value in labels.items():
        if not is_label_name(key):
            raise MetricError("labels", f"Label name {key!r}: use letters, digits and single '_'.")
        if isinstance(value, dict | list) or value is None:
            raise MetricError("labels", f"Label {key!r}: expected a string or number.")
        cleaned[key] = str(value)
    return cleaned


def is_label_name(key) -> bool:
    # "__" is refused: Prometheus reserves it, and it would read as a lookup in label filters.
    return isinstance(key, str) and bool(LABEL_PATTERN.match(key)) and "__" not in key


@transaction.atomic
def record_custom_metrics(metrics: list[dict], execution=None) -> list[CustomMetric]:
    """Store values `{"name", "value", "labels"?, "recorded_at"?}`; all or nothing.

    With an execution, the job's name and the execution id are added as the
    labels `job` and `execution` (unless the metric sets them itself).
    """
    now = timezone.now()
    from_job = execution is not None
    value_of = _job_value if from_job else clean_value
    rows = []
    for metric in metrics:
        labels = clean_labels(metric.get("labels"))
        if from_job:
            labels.setdefault("job", execution.job.name)
            labels.setdefault("execution", str(execution.pk))
        rows.append(
            CustomMetric(
                name=clean_name(metric.get("name")),
                value=value_of(metric.get("value")),
                labels=labels,
                recorded_at=metric.get("recorded_at") or now,
                source="job" if from_job else "api",
                execution=execution,
            )
        )
    return CustomMetric.objects.bulk_create(rows)


def visible_metrics(jobs):
    """The values the caller may see, given the jobs they may see: those recorded by
    runs of those jobs, and those posted through the API, unless a `job` label
    names a job outside `jobs`."""
    metrics = CustomMetric.objects.filter(Q(execution__isnull=True) | Q(execution__job__in=jobs))
    hidden_names = list(Job.objects.exclude(pk__in=jobs.values("pk")).values_list("name", flat=True))
    if hidden_names:
        metrics = metrics.filter(~Q(labels__has_key="job") | ~Q(labels__job__in=hidden_names))
    return metrics


def query_series(*, jobs, name=None, labels=None, since=None, until=None) -> dict:
    """Points grouped into series (one per name and label set), with summary statistics,
    among the values of `jobs` (see visible_metrics)."""
    queryset = visible_metrics(jobs)
    if name:
        queryset = queryset.filter(name=name)
    for key, value in (labels or {}).items():
        if not is_label_name(key):
            raise MetricError("label", f"Label name {key!r}: use letters, digits and single '_'.")
        queryset = queryset.filter(**{f"labels__{key}": value})
    if since:
        queryset = queryset.filter(recorded_at__gte=since)
    if until:
        queryset = queryset.filter(recorded_at__lte=until)
    rows = list(
        queryset.order_by("-recorded_at", "-id").values("name", "labels", "value", "recorded_at")[:MAX_POINTS]
    )
    grouped = defaultdict(list)
    for row in reversed(rows):
        grouped[(row["name"], tuple(sorted(row["labels"].items())))].append(row)
    series = []
    for (series_name, label_items), points in sorted(grouped.items()):
        values = [point["value"] for point in points if point["value"] is not None]
        series.append(
            {
                "name": series_name,
                "labels": dict(label_items),
                "count": len(points),
                "min": min(values, default=None),
                "max": max(values, default=None),
                "avg": sum(values) / len(values) if values else None,
                "last": points[-1]["value"],
                "points": [
                    {"recorded_at": point["recorded_at"], "value": point["value"]} for point in points
                ],
            }
        )
    return {"series": series, "points": len(rows), "truncated": len(rows) == MAX_POINTS}
