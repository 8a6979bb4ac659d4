"""`POST /contexts/{id}/credentials/{cred_id}/test`: really connect with a stored credential."""

import time

from contexts.models import Credential
from contexts.redaction import redact
from execution.engine.connections import ConnectionFailed, check_connection
from execution.engine.errors import EngineError

TESTABLE_KINDS = (Credential.Kind.POSTGRES, Credential.Kind.MYSQL, Credential.Kind.SQLITE)


def check_credential(credential: Credential) -> dict:
    """`{"ok", "message", "seconds"}`: the driver's error when it fails, secrets masked.

    Raises contexts.crypto.CredentialKeyError when the secrets cannot be decrypted.
    """
    secrets = list(credential.plain_secrets().values())
    started = time.monotonic()
    try:
        connection = credential.connection_dict()
        check_connection(connection)
    except (ConnectionFailed, EngineError) as error:
        ok, message = False, str(error)
    else:
        target = connection["database"] if credential.kind == Credential.Kind.SQLITE else _address(connection)
        ok, message = True, f"Connected to {credential.kind} {target}."
    return {"ok": ok, "message": redact(message, secrets), "seconds": round(time.monotonic() - started, 3)}


def _address(connection: dict) -> str:
    return f"{connection['host']}:{connection['port']}/{connection['database']}"
