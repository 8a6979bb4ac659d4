"""Startup checks for the credentials key.

A missing or malformed key with DEBUG off is a system-check error: `runserver`,
`migrate` and `qcluster` refuse to start and print how to fix it, instead of
the settings module raising on import (which would make a supervised server
restart forever). `manage.py check --database default` also tries to decrypt
one stored secret, so a wrong key is reported before anything uses it.
"""

from django.core import checks
from django.db import DatabaseError

from contexts import crypto
from contexts.models import Credential, Parameter


@checks.register(checks.Tags.security)
def check_credentials_key(app_configs, **kwargs):
    problem = crypto.key_problem()
    if problem:
        return [checks.Error(problem, hint="Set ETL_CREDENTIALS_KEY in the environment.", id="contexts.E001")]
    if not crypto.configured_keys():
        return [
            checks.Warning(
                "ETL_CREDENTIALS_KEY is not set: secrets are encrypted with a development key derived "
                "from SECRET_KEY.",
                hint="Set ETL_CREDENTIALS_KEY before storing real secrets. " + crypto.GENERATE_KEY_HINT,
                id="contexts.W001",
            )
        ]
    return []


@checks.register(checks.Tags.database)
def check_stored_secrets_decrypt(app_configs, databases=None, **kwargs):
    if not databases or crypto.key_problem():
        return []
    try:
        token = _one_stored_secret()
    except DatabaseError:
        return []  # Tables not migrated yet: nothing stored to check.
    if token:
        try:
            crypto.decrypt(token)
        except crypto.CredentialKeyError as error:
            return [checks.Error(str(error), id="contexts.E002")]
    return []


def _one_stored_secret() -> str | None:

    credential = Credential.objects.exclude(encrypted_secrets={}).first()
    if credential:
        return next(iter(credential.encrypted_secrets.values()))
    return Parameter.objects.exclude(encrypted_value="").values_list("encrypted_value", flat=True).first()
