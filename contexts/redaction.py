"""Masking secret values in text bound for logs, error messages and API output."""

from collections.abc import Iterable
from urllib.parse import quote

MASK = "***"


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret value replaced by "***".

    A secret may also appear URL-encoded (in a connection URL a driver echoes),
    so that form is masked too. Longer values go first, so a secret that
    contains another is masked whole.
    """
    if not text:
        return text
    forms = set()
    for secret in secrets:
        if secret:
            forms.add(secret)
            forms.add(quote(secret, safe=""))
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, MASK)
    return text
