"""What monitoring does when the apps below it report something."""

from django.dispatch import receiver

from execution.results import run_metrics_saved
from monitoring.custom_metrics import record_custom_metrics


@receiver(run_metrics_saved)
def keep_run_metrics(sender, execution, metrics, **kwargs):
    record_custom_metrics(metrics, execution)
