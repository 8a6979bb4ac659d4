"""The API's JSON parser: refuses nesting deeper than ETL_JSON_MAX_DEPTH and
text no database can store.

Deep nesting is refused before the body is parsed: Python's json module
recurses once per level (10,000 levels raise RecursionError, a 500), and so
would everything after it that walks the value (validation, audit snapshots).

JSON may carry `\\u0000` (NUL) and unpaired surrogates (`\\ud800`) inside
strings. PostgreSQL refuses both (in text and in jsonb) and MySQL mangles
them, so a payload holding one would fail with a server error deep in a save,
or be stored on SQLite and break later. They are refused here with a 400
naming where they are.
"""

import io
import re

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Only these escapes can produce NUL or a surrogate (raw ones cannot survive UTF-8 decoding).
SUSPICIOUS_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# For the depth scan: every byte but brackets and quotes is dropped, `{}` count as `[]`.
ESCAPE = re.compile(rb"\\.", re.DOTALL)
NOT_MARKS = bytes(sorted(set(range(256)) - set(b'[]{}"')))
BRACKETS_AS_SQUARE = bytes.maketrans(b"{}", b"[]")


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read()
        refuse_deep_nesting(raw, "the JSON body")
        data = super().parse(io.BytesIO(raw), media_type, parser_context)
        if SUSPICIOUS_ESCAPE.search(raw.decode("utf-8", "replace")):
            where = _first_unstorable(data, "")
            if where is not None:
                raise ParseError(
                    f"JSON parse error - {where or 'the body'} contains a NUL character (\\u0000) or an "
                    "unpaired surrogate (\\ud800-\\udfff); remove it."
                )
        return data


def refuse_deep_nesting(raw: bytes, what: str) -> None:
    """A 400 when the JSON in `raw` nests arrays/objects deeper than the limit."""
    limit = settings.ETL_JSON_MAX_DEPTH
    if nested_deeper_than(raw, limit):
        raise ParseError(
            f"JSON parse error - {what} nests arrays and objects more than {limit} levels deep "
            "(the limit, setting ETL_JSON_MAX_DEPTH); send flatter data."
        )


def nested_deeper_than(raw: bytes, limit: int) -> bool:
    """Whether some array or object in the JSON text `raw` lies more than
    `limit` levels deep, found without recursion and without parsing: the
    text is reduced to its brackets, then each pass removes the innermost
    pairs (`[]`); a pair left after `limit` passes was deeper."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    if b"\\" in raw:
        raw = ESCAPE.sub(b"", raw)  # so that `\"` cannot end a string
    # Quotes now alternate, opening and closing strings. Dropping two adjacent
    # ones (mostly strings without brackets) moves no bracket into or out of a
    # string; then every second piece between the quotes left is a string.
    marks = raw.translate(BRACKETS_AS_SQUARE, NOT_MARKS).replace(b'""', b"")
    brackets = b"".join(marks.split(b'"')[0::2])
    if b"[" * (limit + 1) in brackets:  # the usual attack, found in one scan
        return True
    for _ in range(limit):
        if b"[]" not in brackets:
            return False
        brackets = brackets.replace(b"[]", b"")
    return b"[]" in brackets


def _first_unstorable(value, where: str) -> str | None:
    """The path (e.g. `components[0].config.rows[1].a`) of the first bad string, key or value."""
    if isinstance(value, str):
        return where if UNSTORABLE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{where}.{key}" if where else str(key)
            if UNSTORABLE.search(key):
                return inner
            found = _first_unstorable(item, inner)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _first_unstorable(item, f"{where}[{index}]")
            if found is not None:
                return found
    return None
