"""Masking secret values in text bound for logs, error messages and API output."""

import re
from collections.abc import Iterable
from urllib.parse import quote

MASK = "***"
# Drivers shorten long lines: PostgreSQL's "LINE 1: SELECT ... 'tok-9f8e..." cuts
# a secret and marks the cut with "...". A cut-off start of a secret (at least
# this long) right before such a mark is masked too.
MIN_TRUNCATED_PREFIX = 3
TRUNCATION_MARK = r"(?=\.\.\.|…)"


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret value replaced by "***".

    A secret may also appear URL-encoded (in a connection URL a driver echoes)
    or cut short by a driver, so those forms are masked too. Longer forms go
    first, so a secret that contains another is masked whole.
    """
    if not text:
        return text
    forms = {form for secret in secrets if secret for form in (secret, quote(secret, safe=""))}
    if not forms:
        return text
    text = re.sub(_any_of(forms), MASK, text)
    prefixes = {form[:length] for form in forms for length in range(MIN_TRUNCATED_PREFIX, len(form))}
    return re.sub(_any_of(prefixes) + TRUNCATION_MARK, MASK, text) if prefixes else text


def _any_of(strings) -> str:
    """A regex matching any of `strings`, longest first."""
    return "(?:" + "|".join(re.escape(s) for s in sorted(strings, key=len, reverse=True)) + ")"
