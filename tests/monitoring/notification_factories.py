"""Channels and rules for the notification tests, saved directly."""

from contexts import crypto
from monitoring.models import NotificationChannel, NotificationRule

SECRET = "a-long-webhook-secret-0123456789"


def webhook_channel(name="hook", url="https://hooks.example.com/etl", secret=SECRET) -> NotificationChannel:
    return NotificationChannel.objects.create(
        name=name, kind="webhook", config={"url": url}, encrypted_secret=crypto.encrypt(secret)
    )


def email_channel(name="mail", to=("ops@example.com",)) -> NotificationChannel:
    return NotificationChannel.objects.create(name=name, kind="email", config={"to": list(to)})


def rule(channel, events=("failed",), jobs=None, name=None, owner=None, **fields) -> NotificationRule:
    made = NotificationRule.objects.create(
        name=name or f"{channel.name}-{'-'.join(events)}-{NotificationRule.objects.count()}",
        channel=channel,
        events=list(events),
        all_jobs=jobs is None,
        owner=owner,
        **fields,
    )
    if jobs:
        made.jobs.set(jobs)
    return made
