"""What monitoring does when the apps below it report something."""

from django.dispatch import receiver

from contexts.signals import secrets_reencrypting
from execution import lifecycle
from execution.results import run_metrics_saved
from monitoring.custom_metrics import record_custom_metrics
from monitoring.notifications import events, webhook


@receiver(run_metrics_saved)
def keep_run_metrics(sender, execution, metrics, **kwargs):
    record_custom_metrics(metrics, execution)


@receiver(lifecycle.finished)
def notify_run_finished(sender, execution, retry, **kwargs):
    """Sent after the run's retry (if any) is queued: `retry` tells a last attempt from one that will be retried."""
    events.run_finished(execution, retry)


@receiver(secrets_reencrypting)
def reencrypt_webhook_secrets(sender, **kwargs):
    return webhook.reencrypt_secrets()
