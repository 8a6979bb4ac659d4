"""Document kinds that apps above authoring add to jobs as code.

Authoring sits below execution in the layers, so it cannot read what
execution keeps (a job's incremental state); execution registers a kind here
instead, in its AppConfig.ready(), and export/plan/apply treat it like their
own kinds: exported on request, planned as create/update/unchanged, written
after jobs (which it may refer to) in the same transaction.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class DocumentKind:
    kind: str
    folder: str  # where its files go in an export folder
    keys: tuple[str, ...]  # the keys a document of this kind may have
    permission: str  # what applying one needs, e.g. "jobs.change_job"
    # The documents of these jobs (a list of Job objects).
    export: Callable[[list], list[dict]]
    # The document as an export would write it now (None: nothing to compare with).
    current: Callable[[str, object], dict | None]
    # Apply one document: (data, request or None); serializers.ValidationError names the field.
    write: Callable[[dict, object], None]


_KINDS: dict[str, DocumentKind] = {}


def register_kind(kind: DocumentKind) -> None:
    _KINDS[kind.kind] = kind


def extra_kinds() -> dict[str, DocumentKind]:
    return dict(_KINDS)
