"""The retention job: delete execution logs, notification deliveries and finished
executions older than the configured retention (settings `log_retention_days`,
`execution_retention_days`).

Runs as a django-q2 schedule (`monitoring.tasks.apply_retention`, hourly).
Deleted executions' totals are added to `ArchivedTotal` first, so all-time
counters (Prometheus) keep counting them.
"""

from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from etlsite.configuration import get_setting
from execution.models import FINISHED_STATES, Execution, ExecutionLog
from monitoring.execution_stats import CounterReader
from monitoring.models import ArchivedTotal, CustomMetric, DeliveryStatus, NotificationDelivery

CHUNK = 500


def _add_to_archive(name: str, amount: int) -> None:
    if amount:
        ArchivedTotal.objects.get_or_create(name=name)
        ArchivedTotal.objects.filter(name=name).update(value=F("value") + amount)


def _delete_executions_before(cutoff) -> int:
    """Delete finished executions in chunks, each chunk archived and deleted in one transaction."""
    deleted = 0
    expired = Execution.objects.filter(state__in=FINISHED_STATES, finished_at__lt=cutoff)
    while True:
        with transaction.atomic():
            chunk = list(expired.order_by("id").values("id", "job_id", "state", "counters", "error")[:CHUNK])
            if not chunk:
                return deleted
            reader = CounterReader(chunk)
            for state in FINISHED_STATES:
                _add_to_archive(f"executions_{state}", sum(1 for e in chunk if e["state"] == state))
            _add_to_archive("rows_moved", sum(reader.rows_moved(e) for e in chunk))
            Execution.objects.filter(pk__in=[e["id"] for e in chunk]).delete()
        deleted += len(chunk)


def apply_retention(now=None) -> dict:
    now = now or timezone.now()
    log_cutoff = now - timedelta(days=get_setting("log_retention_days"))
    execution_cutoff = now - timedelta(days=get_setting("execution_retention_days"))
    logs, _ = ExecutionLog.objects.filter(created_at__lt=log_cutoff).delete()
    executions = _delete_executions_before(execution_cutoff)
    metrics, _ = CustomMetric.objects.filter(recorded_at__lt=execution_cutoff).delete()
    # A delivery is a log line too (those of deleted executions went with them).
    deliveries, _ = (
        NotificationDelivery.objects.filter(created_at__lt=log_cutoff)
        .exclude(status=DeliveryStatus.PENDING)
        .delete()
    )
    return {
        "logs_deleted": logs,
        "executions_deleted": executions,
        "custom_metrics_deleted": metrics,
        "notification_deliveries_deleted": deliveries,
    }
