"""django-q2 entry points of the monitoring schedules (created by `manage.py initialize`)."""

from monitoring import resources, retention


def sample_resources() -> str:
    return str(resources.take_sample())


def apply_retention() -> dict:
    return retention.apply_retention()
