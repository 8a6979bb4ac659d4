"""How much one request may validate or infer synchronously.

The request body is capped by ETL_UPLOAD_MAX_BYTES before it is read. Within
that, the work grows with columns times rows, and a few megabytes can hold a
million columns or a million tiny records against a wide schema: seconds to
minutes of a web worker. So, for `validate`, `validate-many` and `infer`:

- columns (a CSV's header, the keys of JSON records) at most
  ETL_VALIDATE_MAX_COLUMNS, counted before the data is parsed;
- values (rows x columns, columns being the wider of the data and the
  schema, summed over the schemas of validate-many) at most
  ETL_VALIDATE_MAX_VALUES, checked before any validation;
- time: at most ETL_VALIDATE_TIME_LIMIT_SECONDS, checked between slices of
  the work (a slice is not interrupted, so an answer can come one slice late).

Each is a 413 naming the limit. Bigger data is validated by a job with a
`validate` component, in a worker, batch by batch (docs/schemas.md).
"""

import time

from django.conf import settings
from rest_framework import exceptions, status

BIGGER_DATA = "For bigger data, run a job with a validate component (docs/schemas.md, 'Bigger data')."


class ValidationLimit(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "validation_limit"


def refuse_too_many_columns(columns: int, what: str) -> None:
    limit = settings.ETL_VALIDATE_MAX_COLUMNS
    if columns > limit:
        raise ValidationLimit(
            f"{columns:,} columns in {what}; a request may validate or infer at most {limit:,} "
            f"(setting ETL_VALIDATE_MAX_COLUMNS). {BIGGER_DATA}"
        )


def refuse_too_many_values(values: int) -> None:
    limit = settings.ETL_VALIDATE_MAX_VALUES
    if values > limit:
        raise ValidationLimit(
            f"Validating this data means checking {values:,} values (rows x columns); a request may "
            f"check at most {limit:,} (setting ETL_VALIDATE_MAX_VALUES). {BIGGER_DATA}"
        )


class TimeBudget:
    """Started when a request begins its work; `check` between slices of it."""

    def __init__(self):
        self.seconds = settings.ETL_VALIDATE_TIME_LIMIT_SECONDS
        self.deadline = time.monotonic() + self.seconds

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise ValidationLimit(
                f"Validating this data takes longer than {self.seconds:g} s, the limit for one request "
                f"(setting ETL_VALIDATE_TIME_LIMIT_SECONDS). {BIGGER_DATA}"
            )
