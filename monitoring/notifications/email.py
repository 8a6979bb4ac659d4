"""Email notifications, through Django's email backend (EMAIL_* settings,
docs/operations.md): a short text saying what happened, and the same JSON a
webhook gets."""

import json
import smtplib

from django.conf import settings
from django.core.mail import EmailMessage

from monitoring.models import NotificationChannel
from monitoring.notifications.outbound import Outcome

SUBJECTS = {
    "failed": "Job {job} failed",
    "succeeded": "Job {job} succeeded",
    "stopped": "Job {job} was stopped",
    "slow": "Job {job} is running slow",
    "missed": "Job {job} missed its scheduled run",
    "test": "Test notification from etlsite",
}


def summary(payload: dict) -> str:
    lines = []
    if payload.get("job"):
        lines.append(f"Job: {payload['job']['name']} (#{payload['job']['id']})")
    execution = payload.get("execution")
    if execution:
        lines.append(f"Execution: #{execution['id']}, {execution['state']}, attempt {execution['attempt']}")
        if execution.get("duration_seconds") is not None:
            lines.append(f"Duration: {execution['duration_seconds']} s")
        if execution.get("error"):
            lines.append(f"Error: {execution['error'].get('message') or execution['error']}")
    if payload.get("slow"):
        lines.append(f"Slow: {payload['slow']['reason']}")
    if payload.get("missed"):
        lines.append(f"Missed slot: {payload['missed']['expected_at']}")
    return "\n".join(lines)


def send_email(channel: NotificationChannel, event: str, body: bytes) -> Outcome:
    payload = json.loads(body)
    job = payload["job"]["name"] if payload.get("job") else ""
    subject = "[etlsite] " + SUBJECTS.get(event, event).format(job=job)
    text = f"{summary(payload)}\n\nThe notification as JSON:\n{json.dumps(payload, indent=2)}\n"
    message = EmailMessage(subject, text, settings.DEFAULT_FROM_EMAIL, list(channel.config.get("to") or []))
    try:
        message.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as error:
        return Outcome(False, error=f"Recipients refused: {', '.join(error.recipients)}")
    except (smtplib.SMTPException, OSError) as error:
        return Outcome(False, error=f"{type(error).__name__}: {error}", retry=True)
    return Outcome(True)
