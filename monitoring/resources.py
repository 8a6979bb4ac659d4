"""Host resources: a live psutil snapshot and a short stored history.

History samples are taken in the background by a django-q2 schedule
(`monitoring.tasks.sample_resources`, every minute) and also on read when the
newest sample of this host is older than `FRESH_SECONDS`, so the history
exists even before a worker has run. Samples live in the database, so every
web process shows the same history.
"""

import os
import socket
import time
from datetime import timedelta

import psutil
from django.conf import settings
from django.utils import timezone

from monitoring.models import ResourceSample

FRESH_SECONDS = 10
HISTORY_KEEP = timedelta(hours=24)


def _busy_and_total_cpu_seconds() -> tuple[float, float]:
    times = psutil.cpu_times()
    total = sum(times)
    idle = times.idle + getattr(times, "iowait", 0.0)
    return total - idle, total


def _data_disk_path() -> str:
    return str(settings.ETL_HOME) if os.path.exists(settings.ETL_HOME) else "/"


def take_sample() -> ResourceSample:
    """Read the host's counters and store them; CPU% is measured against the previous sample."""
    host = socket.gethostname()
    busy, total = _busy_and_total_cpu_seconds()
    previous = ResourceSample.objects.filter(host=host).order_by("-taken_at").first()
    if previous and total > previous.cpu_total_seconds:
        cpu_percent = 100.0 * (busy - previous.cpu_busy_seconds) / (total - previous.cpu_total_seconds)
    else:
        cpu_percent = psutil.cpu_percent(interval=0.1)
    memory = psutil.virtual_memory()
    disk = psutil.disk_usage(_data_disk_path())
    disk_io = psutil.disk_io_counters()
    net_io = psutil.net_io_counters()
    sample = ResourceSample.objects.create(
        host=host,
        taken_at=timezone.now(),
        cpu_percent=round(max(0.0, min(100.0, cpu_percent)), 2),
        cpu_busy_seconds=busy,
        cpu_total_seconds=total,
        load_1m=os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        memory_percent=memory.percent,
        memory_used_bytes=memory.total - memory.available,
        memory_total_bytes=memory.total,
        swap_percent=psutil.swap_memory().percent,
        disk_percent=disk.percent,
        disk_used_bytes=disk.used,
        disk_total_bytes=disk.total,
        disk_read_bytes=disk_io.read_bytes if disk_io else 0,
        disk_write_bytes=disk_io.write_bytes if disk_io else 0,
        net_sent_bytes=net_io.bytes_sent,
        net_recv_bytes=net_io.bytes_recv,
    )
    ResourceSample.objects.filter(taken_at__lt=sample.taken_at - HISTORY_KEEP).delete()
    return sample


def fresh_sample() -> ResourceSample:
    """This host's newest sample, taken now if the stored one is stale."""
    newest = ResourceSample.objects.filter(host=socket.gethostname()).order_by("-taken_at").first()
    if newest and timezone.now() - newest.taken_at < timedelta(seconds=FRESH_SECONDS):
        return newest
    return take_sample()


def history(minutes: int) -> list[ResourceSample]:
    """This host's samples of the last `minutes`, oldest first."""
    fresh_sample()
    since = timezone.now() - timedelta(minutes=minutes)
    return list(
        ResourceSample.objects.filter(host=socket.gethostname(), taken_at__gte=since).order_by("taken_at")
    )


def _rate(newer: ResourceSample, older: ResourceSample, field: str) -> float | None:
    seconds = (newer.taken_at - older.taken_at).total_seconds()
    delta = getattr(newer, field) - getattr(older, field)
    if seconds <= 0 or delta < 0:  # a counter reset (reboot) gives no rate
        return None
    return round(delta / seconds, 1)


def series(minutes: int, fields: dict[str, str], rates: dict[str, str] | None = None) -> list[dict]:
    """History points: `fields` maps output key -> sample attribute; `rates` the same for
    per-second rates of cumulative counters."""
    samples = history(minutes)
    points = []
    for index, sample in enumerate(samples):
        point = {"taken_at": sample.taken_at}
        point.update({key: getattr(sample, attribute) for key, attribute in fields.items()})
        for key, attribute in (rates or {}).items():
            point[key] = _rate(sample, samples[index - 1], attribute) if index else None
        points.append(point)
    return points


def system_snapshot() -> dict:
    """GET /metrics/system: what this host and process use right now."""
    sample = fresh_sample()
    process = psutil.Process()
    with process.oneshot():
        process_memory = process.memory_info()
        process_info = {
            "pid": process.pid,
            "cpu_seconds": round(sum(process.cpu_times()[:2]), 3),  # user + system
            "memory_rss_bytes": process_memory.rss,
            "threads": process.num_threads(),
            "open_files": len(process.open_files()),
        }
        process_started = process.create_time()
    memory = psutil.virtual_memory()
    disk = psutil.disk_usage(_data_disk_path())
    net = psutil.net_io_counters()
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "host": sample.host,
        "measured_at": timezone.now(),
        "cpu": {
            "percent": sample.cpu_percent,
            "count_logical": psutil.cpu_count(),
            "count_physical": psutil.cpu_count(logical=False),
        },
        "load": {"1m": load[0], "5m": load[1], "15m": load[2]} if load else None,
        "memory": {
            "total_bytes": memory.total,
            "available_bytes": memory.available,
            "used_bytes": memory.total - memory.available,
            "percent": memory.percent,
            "swap_percent": psutil.swap_memory().percent,
        },
        "disk": {
            "path": _data_disk_path(),
            "total_bytes": disk.total,
            "used_bytes": disk.used,
            "free_bytes": disk.free,
            "percent": disk.percent,
        },
        "network": {
            "bytes_sent": net.bytes_sent,
            "bytes_recv": net.bytes_recv,
            "packets_sent": net.packets_sent,
            "packets_recv": net.packets_recv,
        },
        "process": process_info,
        "uptime": {
            "system_seconds": round(time.time() - psutil.boot_time(), 1),
            "process_seconds": round(time.time() - process_started, 1),
        },
    }
