"""Encryption of secrets at rest (credential secrets, secret parameters).

Keys come from `settings.ETL_CREDENTIALS_KEY`: comma-separated Fernet keys,
newest first. The newest key encrypts; every key may decrypt, so an old key
stays listed until `manage.py reencrypt_secrets` has moved everything to the
new one.

Without a key: in DEBUG a development key is derived from SECRET_KEY (with a
warning, so `make run` works out of the box); with DEBUG off there is no
fallback, and the system check in `contexts.checks` reports it at startup.
Encrypting or decrypting then raises `CredentialKeyError` instead of guessing,
so nothing is ever written with a key nobody configured.
"""

import base64
import hashlib
import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

logger = logging.getLogger("contexts.crypto")

GENERATE_KEY_HINT = (
    'Generate one with: python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"'
)


class CredentialKeyError(Exception):
    """The encryption key is missing, malformed, or cannot decrypt a stored secret."""


def configured_keys() -> list[str]:
    return [key.strip() for key in (settings.ETL_CREDENTIALS_KEY or "").split(",") if key.strip()]


def development_key() -> bytes:
    """A Fernet key derived from SECRET_KEY, used only when DEBUG is on and no key is set."""
    digest = hashlib.sha256(b"etlsite-credentials:" + settings.SECRET_KEY.encode()).digest()
    return base64.urlsafe_b64encode(digest)


def key_problem() -> str | None:
    """Why the configured keys cannot be used, or None when they can (or DEBUG covers it)."""
    keys = configured_keys()
    if not keys:
        if settings.DEBUG:
            return None
        return f"ETL_CREDENTIALS_KEY is not set; secrets cannot be stored or read. {GENERATE_KEY_HINT}"
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            return (
                f"Key number {position} in ETL_CREDENTIALS_KEY is not a valid Fernet key "
                f"(32 url-safe base64-encoded bytes). {GENERATE_KEY_HINT}"
            )
    return None


_warned_about_dev_key = False


def _fernet() -> MultiFernet:
    global _warned_about_dev_key
    problem = key_problem()
    if problem:
        raise CredentialKeyError(problem)
    keys = configured_keys()
    if keys:
        return MultiFernet([Fernet(key) for key in keys])
    if not _warned_about_dev_key:
        logger.warning(
            "ETL_CREDENTIALS_KEY is not set: secrets use a development key derived from SECRET_KEY."
        )
        _warned_about_dev_key = True
    return MultiFernet([Fernet(development_key())])


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise CredentialKeyError(
            "A stored secret cannot be decrypted with ETL_CREDENTIALS_KEY: the key is wrong, or the key "
            "it was encrypted with was removed. List the old key after the new one, then run "
            "`manage.py reencrypt_secrets`."
        ) from None


def reencrypt(token: str) -> str:
    """The same secret encrypted with the newest key (raises CredentialKeyError if unreadable)."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise CredentialKeyError(
            "A stored secret cannot be decrypted with any key in ETL_CREDENTIALS_KEY; "
            "add the key it was encrypted with (after the newest one) and retry."
        ) from None
