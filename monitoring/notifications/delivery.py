"""Recording deliveries and making their attempts in the worker.

A run's end (or a periodic check) only writes a `NotificationDelivery` row and
enqueues a django-q2 task for it once the row is committed; the task makes one
attempt with a short timeout (ETL_NOTIFY_TIMEOUT_SECONDS). A failed attempt
that may pass later (connection error, timeout, 5xx, 429) is retried by a
one-off django-q2 Schedule after a growing delay: ETL_NOTIFY_RETRY_SECONDS,
then 4x that, 16x... until ETL_NOTIFY_MAX_ATTEMPTS attempts; then the delivery
is `failed`. Each attempt is claimed with a conditional update on its attempt
count, so a duplicate task never sends twice.
"""

import logging
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from execution.models import Execution
from jobs.models import Job
from monitoring.models import DeliveryStatus, NotificationChannel, NotificationDelivery, NotificationRule
from monitoring.notifications.email import send_email
from monitoring.notifications.outbound import Outcome
from monitoring.notifications.payloads import body_with_sent_at
from monitoring.notifications.rules import rules_for
from monitoring.notifications.webhook import send_webhook

logger = logging.getLogger("monitoring.notifications")

DELIVER_TASK = "monitoring.tasks.deliver_notification"
BACKOFF_FACTOR = 4
SENDERS = {NotificationChannel.Kind.WEBHOOK: send_webhook, NotificationChannel.Kind.EMAIL: send_email}


def task_timeout() -> int:
    """django-q2 ends an attempt that outlives this (a server trickling its answer)."""
    return int(6 * settings.ETL_NOTIFY_TIMEOUT_SECONDS) + 10


def retry_delay(attempts_made: int) -> timedelta:
    return timedelta(seconds=settings.ETL_NOTIFY_RETRY_SECONDS * BACKOFF_FACTOR ** (attempts_made - 1))


def notify(event: str, job: Job, payload: dict, *, execution: Execution | None = None, slot=None) -> list:
    """One delivery per channel of the rules that fire (the first rule names it);
    a channel already told about this run's (or slot's) event is skipped."""
    deliveries = []
    for rule in rules_for(job, event):
        delivery = record_delivery(rule, event, job, payload, execution, slot)
        if delivery is not None:
            deliveries.append(delivery)
    return deliveries


def record_delivery(rule: NotificationRule, event, job, payload, execution, slot):
    same = NotificationDelivery.objects.filter(channel=rule.channel, event=event)
    same = same.filter(execution=execution) if execution is not None else same.filter(job=job, slot=slot)
    if same.exists():
        return None
    try:
        with transaction.atomic():
            delivery = NotificationDelivery.objects.create(
                channel=rule.channel,
                rule=rule,
                event=event,
                job=job,
                execution=execution,
                slot=slot,
                payload=payload,
            )
    except IntegrityError:  # another process recorded it meanwhile
        return None
    # The worker must find the row: enqueue once it is committed.
    transaction.on_commit(partial(enqueue, delivery.pk), robust=True)
    return delivery


def enqueue(delivery_id: int) -> None:
    async_task(DELIVER_TASK, delivery_id, task_name=f"notification {delivery_id}", timeout=task_timeout())


def send(channel: NotificationChannel, event: str, body: bytes) -> Outcome:
    try:
        return SENDERS[channel.kind](channel, event, body)
    except Exception as error:  # a bug or an odd backend must not kill the worker's task loop
        logger.exception("Sending a notification on channel %s failed", channel)
        return Outcome(False, error=f"{type(error).__name__}: {error}")


def deliver(delivery_id: int) -> str:
    """One attempt of a pending delivery (the django-q2 task)."""
    delivery = NotificationDelivery.objects.select_related("channel").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return "nothing to send"
    now = timezone.now()
    claimed = NotificationDelivery.objects.filter(
        pk=delivery.pk, status=DeliveryStatus.PENDING, attempts=delivery.attempts
    ).update(attempts=F("attempts") + 1, last_attempt_at=now, next_attempt_at=None)
    if not claimed:
        return "attempted elsewhere"
    delivery.attempts += 1
    delivery.next_attempt_at = None
    outcome = send(delivery.channel, delivery.event, body_with_sent_at(delivery.payload, now))
    record_outcome(delivery, outcome, now)
    return delivery.status


def record_outcome(delivery: NotificationDelivery, outcome: Outcome, now: datetime) -> None:
    delivery.response_code = outcome.response_code
    delivery.error = outcome.error
    delivery.last_attempt_at = now
    if outcome.ok:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
    elif outcome.retry and delivery.attempts < settings.ETL_NOTIFY_MAX_ATTEMPTS:
        delivery.next_attempt_at = now + retry_delay(delivery.attempts)
        schedule_attempt(delivery)
    else:
        delivery.status = DeliveryStatus.FAILED
    delivery.save(
        update_fields=[
            "status",
            "response_code",
            "error",
            "last_attempt_at",
            "next_attempt_at",
            "delivered_at",
        ]
    )


def schedule_attempt(delivery: NotificationDelivery) -> None:
    """The next attempt as a one-off Schedule (django-q2 deletes it once fired)."""
    Schedule.objects.update_or_create(
        name=f"etlsite.notification.{delivery.pk}",
        defaults={
            "func": DELIVER_TASK,
            "args": repr((delivery.pk,)),
            "kwargs": "",
            "schedule_type": Schedule.ONCE,
            "repeats": -1,
            "next_run": delivery.next_attempt_at,
        },
    )


def resume_stalled(now: datetime) -> int:
    """Deliveries whose attempt was lost: never picked up (the task was lost
    before the queue got it), or whose worker died mid-attempt (its task
    outlived the task timeout). Enqueued again; a duplicate task is harmless."""
    lost_before = now - timedelta(seconds=task_timeout() + 60)
    stalled = NotificationDelivery.objects.filter(
        status=DeliveryStatus.PENDING, next_attempt_at__isnull=True
    ).filter(Q(attempts=0, created_at__lt=lost_before) | Q(attempts__gt=0, last_attempt_at__lt=lost_before))
    count = 0
    for delivery in stalled:
        if delivery.attempts >= settings.ETL_NOTIFY_MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.FAILED
            delivery.error = delivery.error or "The worker stopped during the last attempt."
            delivery.save(update_fields=["status", "error"])
        else:
            transaction.on_commit(partial(enqueue, delivery.pk), robust=True)
        count += 1
    return count


def send_test(channel: NotificationChannel, payload: dict) -> NotificationDelivery:
    """The test-send route: one attempt now, no retries, logged like any delivery."""
    now = timezone.now()
    outcome = send(channel, "test", body_with_sent_at(payload, now))
    return NotificationDelivery.objects.create(
        channel=channel,
        event="test",
        payload=payload,
        status=DeliveryStatus.DELIVERED if outcome.ok else DeliveryStatus.FAILED,
        attempts=1,
        response_code=outcome.response_code,
        error=outcome.error,
        last_attempt_at=now,
        delivered_at=now if outcome.ok else None,
    )
