"""The API's JSON parser: refuses text no database can store.

JSON may carry `\\u0000` (NUL) and unpaired surrogates (`\\ud800`) inside
strings. PostgreSQL refuses both (in text and in jsonb) and MySQL mangles
them, so a payload holding one would fail with a server error deep in a save,
or be stored on SQLite and break later. They are refused here with a 400
naming where they are.
"""

import io
import re

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Only these escapes can produce NUL or a surrogate (raw ones cannot survive UTF-8 decoding).
SUSPICIOUS_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read()
        data = super().parse(io.BytesIO(raw), media_type, parser_context)
        if SUSPICIOUS_ESCAPE.search(raw.decode("utf-8", "replace")):
            where = _first_unstorable(data, "")
            if where is not None:
                raise ParseError(
                    f"JSON parse error - {where or 'the body'} contains a NUL character (\\u0000) or an "
                    "unpaired surrogate (\\ud800-\\udfff); remove it."
                )
        return data


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
