"""django-q2 entry points of the monitoring schedules (created by `manage.py initialize`)."""

from etlsite import read_cache
from monitoring import resources, retention


def sample_resources() -> str:
    return str(resources.take_sample())


def apply_retention() -> dict:
    return retention.apply_retention()


def compact_read_cache_log() -> int:
    return read_cache.compact()
