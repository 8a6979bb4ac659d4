"""Errors the engine raises. Each names the component it concerns, so a user
knows where to look."""

import polars as pl


class EngineError(Exception):
    """A job cannot run or failed while running.

    `component` is the component's name (None for job-level problems),
    `field` the config field at fault, `location` a file and line or record
    when the problem is in the data.
    """

    def __init__(self, message, *, component=None, field=None, location=None):
        self.message = message
        self.component = component
        self.field = field
        self.location = location
        super().__init__(self.describe())

    def describe(self) -> str:
        where = []
        if self.component:
            where.append(f"component '{self.component}'")
        if self.field:
            where.append(f"field '{self.field}'")
        if self.location:
            where.append(self.location)
        return f"{', '.join(where)}: {self.message}" if where else self.message

    def as_dict(self) -> dict:
        return {
            "component": self.component,
            "field": self.field,
            "location": self.location,
            "message": self.message,
        }


class GraphError(EngineError):
    """The job definition is invalid (found before any data moves)."""


class StopRequested(Exception):
    """Raised by a control hook between batches to abandon the run.

    Sinks roll back, so targets stay as they were."""


def as_component(name: str, action, *args):
    """Run one component's code (in a run or a preview): a failure becomes an
    EngineError naming the component; StopRequested and StopIteration pass."""
    try:
        return action(*args)
    except EngineError as error:
        if error.component is None:
            error.component = name
            error.args = (error.describe(),)
        raise
    except (StopRequested, StopIteration):
        raise
    except Exception as error:  # noqa: BLE001 - any failure inside a component is reported as its error
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        # Polars' class names (ComputeError, DuplicateError) mean nothing to a user.
        kind = "" if isinstance(error, pl.exceptions.PolarsError) else f"{type(error).__name__}: "
        raise EngineError(f"{kind}{message}", component=name) from error
