"""django-q2 entry points of the monitoring schedules (created by `manage.py initialize`)."""

from monitoring import resources, retention
from monitoring.notifications import delivery, events


def sample_resources() -> str:
    return str(resources.take_sample())


def apply_retention() -> dict:
    return retention.apply_retention()


def deliver_notification(delivery_id: int) -> str:
    return delivery.deliver(delivery_id)


def check_notifications() -> dict:
    return events.periodic_check()
