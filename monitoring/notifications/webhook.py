"""Webhooks: the JSON body POSTed, signed with the channel's secret.

`X-Etlsite-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with the
secret>`; a receiver recomputes it over the bytes it received and compares in
constant time (docs/monitoring.md has an example).
"""

import hashlib
import hmac

from django.conf import settings

from contexts import crypto
from monitoring.models import NotificationChannel
from monitoring.notifications.outbound import Outcome, post_json

SIGNATURE_HEADER = "X-Etlsite-Signature"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send_webhook(channel: NotificationChannel, event: str, body: bytes) -> Outcome:
    try:
        secret = crypto.decrypt(channel.encrypted_secret) if channel.encrypted_secret else ""
    except crypto.CredentialKeyError as error:
        return Outcome(False, error=str(error))
    if not secret:
        return Outcome(False, error="The channel has no secret to sign with; set one.")
    headers = {SIGNATURE_HEADER: signature(secret, body), "X-Etlsite-Event": event, "User-Agent": "etlsite"}
    return post_json(channel.config.get("url"), body, headers, settings.ETL_NOTIFY_TIMEOUT_SECONDS)


def reencrypt_secrets() -> tuple[int, str]:
    """Every channel secret with the newest key (`manage.py reencrypt_secrets`)."""
    channels = NotificationChannel.objects.select_for_update().exclude(encrypted_secret="")
    count = 0
    for channel in channels:
        channel.encrypted_secret = crypto.reencrypt(channel.encrypted_secret)
        channel.save(update_fields=["encrypted_secret"])
        count += 1
    return count, "notification channel secret(s)"
