"""A run's saved overrides (what its retries and restarts reuse) rotate with
the credentials key, all or nothing with every other secret."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from contexts.models import Parameter
from execution.control import RunRequest, saved_overrides, start_execution
from execution.models import Execution
from tests.conftest import TEST_CREDENTIALS_KEY

pytestmark = pytest.mark.django_db


@pytest.fixture
def started(copy_job, context_dev):
    Parameter.objects.create(context=context_dev, name="x", type="string", value="0")
    execution, _ = start_execution(copy_job, RunRequest(context_name="dev", overrides={"x": "1"}))
    return execution


NEW_KEY = Fernet.generate_key().decode()


def test_reencrypting_moves_saved_overrides_to_the_newest_key(settings, started):
    settings.ETL_CREDENTIALS_KEY = f"{NEW_KEY},{TEST_CREDENTIALS_KEY}"
    out = StringIO()
    call_command("reencrypt_secrets", stdout=out)
    assert "Re-encrypted 1 execution's saved run overrides." in out.getvalue()
    settings.ETL_CREDENTIALS_KEY = NEW_KEY  # the old key is gone
    assert saved_overrides(Execution.objects.get(pk=started.pk)) == {"x": "1"}


def test_overrides_the_keys_cannot_read_change_nothing(settings, started):
    before = Execution.objects.get(pk=started.pk).encrypted_overrides
    settings.ETL_CREDENTIALS_KEY = NEW_KEY
    with pytest.raises(CommandError, match="Nothing was changed"):
        call_command("reencrypt_secrets")
    assert Execution.objects.get(pk=started.pk).encrypted_overrides == before
