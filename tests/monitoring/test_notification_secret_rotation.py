"""Webhook secrets rotate with the credentials key: `manage.py reencrypt_secrets`
moves them to the newest key with everything else, all or nothing."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from contexts import crypto
from monitoring.models import NotificationChannel
from tests.conftest import TEST_CREDENTIALS_KEY
from tests.monitoring.notification_factories import SECRET, webhook_channel

pytestmark = pytest.mark.django_db

NEW_KEY = Fernet.generate_key().decode()


def test_reencrypting_moves_webhook_secrets_to_the_newest_key(settings):
    webhook_channel()
    settings.ETL_CREDENTIALS_KEY = f"{NEW_KEY},{TEST_CREDENTIALS_KEY}"
    out = StringIO()
    call_command("reencrypt_secrets", stdout=out)
    assert "Re-encrypted 1 notification channel secret(s)." in out.getvalue()
    settings.ETL_CREDENTIALS_KEY = NEW_KEY  # the old key is gone
    assert crypto.decrypt(NotificationChannel.objects.get().encrypted_secret) == SECRET


def test_a_webhook_secret_the_keys_cannot_read_changes_nothing(settings):
    webhook_channel()
    before = NotificationChannel.objects.get().encrypted_secret
    settings.ETL_CREDENTIALS_KEY = NEW_KEY
    with pytest.raises(CommandError, match="Nothing was changed"):
        call_command("reencrypt_secrets")
    assert NotificationChannel.objects.get().encrypted_secret == before
