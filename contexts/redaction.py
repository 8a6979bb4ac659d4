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
# A secret this long is also masked in pieces: a message may wrap it across
# lines, cut it without a mark, or glue it into an identifier (`nonexist_<secret>`).
# A piece is masked when it starts or ends the secret and has MIN_EDGE_PIECE
# characters, or sits inside it and has MIN_INNER_PIECE.
MIN_SPLIT_SECRET = 8
MIN_EDGE_PIECE = 4
MIN_INNER_PIECE = 6


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret value replaced by "***".

    A secret may also appear URL-encoded (in a connection URL a driver echoes),
    cut short or split, so those forms are masked too. Longer forms go first,
    so a secret that contains another is masked whole.
    """
    if not text:
        return text
    forms = {form for secret in secrets if secret for form in (secret, quote(secret, safe=""))}
    if not forms:
        return text
    text = re.sub(_any_of(forms), MASK, text)
    prefixes = {form[:length] for form in forms for length in range(MIN_TRUNCATED_PREFIX, len(form))}
    if prefixes:
        text = re.sub(_any_of(prefixes) + TRUNCATION_MARK, MASK, text)
    return _mask_pieces(text, [form for form in forms if len(form) >= MIN_SPLIT_SECRET])


def _mask_pieces(text: str, forms: list[str]) -> str:
    """Mask the longest runs of `text` that are pieces of a secret (see above)."""
    if not forms:
        return text
    out, start = [], 0
    while start < len(text):
        end = start
        while end < len(text) and any(text[start : end + 1] in form for form in forms):
            end += 1
        piece = text[start:end]
        if _is_revealing(piece, forms):
            out.append(MASK)
            start = end
        else:
            out.append(text[start])
            start += 1
    return "".join(out)


def _is_revealing(piece: str, forms: list[str]) -> bool:
    if len(piece) >= MIN_INNER_PIECE:
        return True
    return len(piece) >= MIN_EDGE_PIECE and any(
        form.startswith(piece) or form.endswith(piece) for form in forms
    )


def _any_of(strings) -> str:
    """A regex matching any of `strings`, longest first."""
    return "(?:" + "|".join(re.escape(s) for s in sorted(strings, key=len, reverse=True)) + ")"
