"""Secrets are stored encrypted, keys rotate, and a missing or wrong key is a
clear error that changes nothing."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from contexts import checks, crypto
from contexts.models import Credential, Parameter
from tests.conftest import TEST_CREDENTIALS_KEY
from tests.contexts.factories import PASSWORD, add_credential, add_parameter, make_context

pytestmark = pytest.mark.django_db

NEW_KEY = Fernet.generate_key().decode()


def raw_column(table: str, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table}")
        return " ".join(str(row[0]) for row in cursor.fetchall())


def test_the_database_columns_hold_no_plaintext_secret():
    context = make_context()
    add_credential(context, secrets={"password": PASSWORD})
    add_parameter(context, "api_token", "secret", PASSWORD + "-param")
    credential_column = raw_column("contexts_credential", "encrypted_secrets")
    parameter_columns = raw_column("contexts_parameter", "encrypted_value") + raw_column(
        "contexts_parameter", "value"
    )
    assert "password" in credential_column  # the name is stored, so the column was really read
    assert PASSWORD not in credential_column
    assert PASSWORD not in parameter_columns
    assert Credential.objects.get().plain_secrets() == {"password": PASSWORD}
    assert Parameter.objects.get().plain_value() == PASSWORD + "-param"


def test_reencrypting_moves_every_secret_to_the_newest_key(settings):
    context = make_context()
    add_credential(context, secrets={"password": PASSWORD})
    add_parameter(context, "api_token", "secret", "tok-123")
    settings.ETL_CREDENTIALS_KEY = f"{NEW_KEY},{TEST_CREDENTIALS_KEY}"
    call_command("reencrypt_secrets")
    settings.ETL_CREDENTIALS_KEY = NEW_KEY  # the old key is gone
    assert Credential.objects.get().plain_secrets() == {"password": PASSWORD}
    assert Parameter.objects.get().plain_value() == "tok-123"


def test_reencrypting_with_a_key_that_cannot_read_a_secret_changes_nothing(settings):
    add_credential(make_context(), secrets={"password": PASSWORD})
    before = Credential.objects.get().encrypted_secrets
    settings.ETL_CREDENTIALS_KEY = NEW_KEY
    with pytest.raises(CommandError, match="Nothing was changed"):
        call_command("reencrypt_secrets")
    assert Credential.objects.get().encrypted_secrets == before


def test_a_wrong_key_makes_reads_fail_with_a_clear_error(settings):
    add_credential(make_context(), secrets={"password": PASSWORD})
    settings.ETL_CREDENTIALS_KEY = NEW_KEY
    with pytest.raises(crypto.CredentialKeyError, match="key is wrong"):
        Credential.objects.get().plain_secrets()


def test_the_startup_check_reports_a_stored_secret_the_key_cannot_read(settings):
    add_credential(make_context(), secrets={"password": PASSWORD})
    assert checks.check_stored_secrets_decrypt(None, databases=["default"]) == []
    settings.ETL_CREDENTIALS_KEY = NEW_KEY
    [error] = checks.check_stored_secrets_decrypt(None, databases=["default"])
    assert error.id == "contexts.E002"


def test_without_debug_a_missing_key_is_a_startup_error(settings):
    settings.DEBUG = False
    settings.ETL_CREDENTIALS_KEY = ""
    [error] = checks.check_credentials_key(None)
    assert error.id == "contexts.E001"
    assert "ETL_CREDENTIALS_KEY is not set" in error.msg
    with pytest.raises(crypto.CredentialKeyError):
        crypto.encrypt("x")


def test_a_malformed_key_is_a_startup_error_naming_its_position(settings):
    settings.ETL_CREDENTIALS_KEY = f"{NEW_KEY},not-a-key"
    [error] = checks.check_credentials_key(None)
    assert error.id == "contexts.E001"
    assert "Key number 2" in error.msg


def test_in_debug_a_missing_key_falls_back_to_a_development_key_with_a_warning(settings):
    settings.DEBUG = True
    settings.ETL_CREDENTIALS_KEY = ""
    [warning] = checks.check_credentials_key(None)
    assert warning.id == "contexts.W001"
    token = crypto.encrypt(PASSWORD)
    assert crypto.decrypt(token) == PASSWORD
    settings.ETL_CREDENTIALS_KEY = crypto.development_key().decode()
    assert crypto.decrypt(token) == PASSWORD


def test_storing_a_credential_without_a_key_is_a_503_and_saves_nothing(settings, admin_client):
    context = make_context()
    settings.DEBUG = False
    settings.ETL_CREDENTIALS_KEY = ""
    response = admin_client.post(
        f"/api/v1/contexts/{context.pk}/credentials",
        {
            "name": "w",
            "kind": "postgres",
            "config": {"host": "h", "database": "d"},
            "secrets": {"password": "p"},
        },
        format="json",
    )
    assert response.status_code == 503, response.content
    assert "ETL_CREDENTIALS_KEY is not set" in response.json()["error"]["message"]
    assert not Credential.objects.exists()
