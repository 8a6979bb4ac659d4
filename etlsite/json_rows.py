"""Related rows read with their parent row, as one JSON array the database builds.

`Prefetch` reads a list's related rows with a second query per relation and
makes a model instance of each; for the job list (50 jobs, their components
and upstream links) that was about a third of a request (docs/performance.md,
"Load"). `rows_of()` instead annotates each parent row with a correlated
subquery that aggregates its related rows into a JSON array of plain objects:
no extra query, no model instance per row. Read-only: the rows are what the
answer shows, not objects to save.

SQLite (json_group_array, json_object) and PostgreSQL (jsonb_agg,
jsonb_build_object) are the databases Django's own data may live in. Neither
orders an aggregate here (SQLite 3.40 has no ORDER BY in an aggregate), so
each row carries the key it is sorted by (`rows_in_order`).
"""

from django.db import models
from django.db.models.functions import JSONObject


class JSONArrayAgg(models.Aggregate):
    """The aggregated values as one JSON array."""

    function = "JSON_GROUP_ARRAY"
    output_field = models.JSONField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="JSONB_AGG", **extra_context)


class StoredJSON(models.Func):
    """A JSONField column nested as JSON, not as a string: SQLite stores it as
    text (json() parses it), PostgreSQL as jsonb (nested as it is)."""

    function = "JSON"
    output_field = models.JSONField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return compiler.compile(self.source_expressions[0])


def rows_of(queryset: models.QuerySet, parent: str, **fields) -> models.Subquery:
    """For each parent row, the rows of `queryset` whose `parent` foreign key
    points at it, as a JSON array of objects with `fields` (name → column or
    expression); NULL when there is none."""
    return models.Subquery(
        queryset.filter(**{parent: models.OuterRef("pk")})
        .order_by()
        .values(parent)
        .annotate(rows=JSONArrayAgg(JSONObject(**fields)))
        .values("rows"),
        output_field=models.JSONField(),
    )


def rows_in_order(rows: list[dict] | None, key: str) -> list[dict]:
    return sorted(rows or (), key=lambda row: row[key])
