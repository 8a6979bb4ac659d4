"""`python manage.py runjob <job id or name> [--context NAME] [--param k=v ...] [--connection name=URL ...]`

Runs a saved job in the foreground with a progress bar, prints per-component
counters at the end and exits non-zero when the run fails.
"""

import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from contexts.resolution import ResolvedRun, RunInputError, redact, resolve_run_inputs
from execution.engine.connections import ConnectionFailed, from_url
from execution.engine.errors import EngineError, StopRequested
from execution.engine.runner import RunContext, run_job
from jobs.models import Job
from schemas.models import Schema

COUNTER_COLUMNS = ("rows_in", "rows_out", "rows_rejected", "batches", "seconds", "bytes_read")


class Command(BaseCommand):
    help = "Run a saved job in the foreground, with a progress bar and per-component counters."

    def add_arguments(self, parser):
        parser.add_argument("job", help="Job id or name.")
        parser.add_argument("--context", help="Context to run in (default: the job's default context).")
        parser.add_argument(
            "--param",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="Override a parameter (repeatable).",
        )
        parser.add_argument(
            "--connection",
            action="append",
            default=[],
            metavar="NAME=URL",
            help="Use this database for connection NAME, e.g. dw=postgresql://user@host/db (repeatable).",
        )

    def handle(self, *args, **options):
        job = find_job(options["job"])
        parameters = dict(split_pair(item, "--param") for item in options["param"])
        connection_urls = dict(split_pair(item, "--connection") for item in options["connection"])
        resolved = resolve(job, options["context"], parameters, connection_urls)
        context = RunContext(
            data_roots=list(settings.ETL_DATA_ROOTS),
            connections=resolved.connections,
            schemas=used_schemas(resolved.components),
            batch_size=int(job.effective_config.get("batch_size") or 50_000),
            control=ProgressBar(self.stderr),
        )
        started = time.monotonic()
        try:
            result = run_job(resolved.components, context)
        except (EngineError, StopRequested) as error:
            self.stderr.write("")
            raise CommandError(f"Job {job.name!r} failed: {redact(str(error), resolved.secrets)}") from None
        except KeyboardInterrupt:
            self.stderr.write("")
            raise CommandError(f"Job {job.name!r} interrupted; every target was left as it was.") from None
        self.stderr.write("")
        self.stdout.write(counters_table(result.components))
        for metric in result.metrics:
            line = f"metric {metric['name']} {metric['labels']} = {metric['value']}"
            self.stdout.write(redact(line, resolved.secrets))
        self.stdout.write(
            self.style.SUCCESS(f"Job {job.name!r} succeeded in {time.monotonic() - started:.1f}s.")
        )


def find_job(identifier: str) -> Job:
    job = Job.objects.filter(name=identifier).first()
    if job is None and identifier.isdigit():
        job = Job.objects.filter(pk=int(identifier)).first()
    if job is None:
        raise CommandError(f"No job with id or name {identifier!r}.")
    return job


def split_pair(item: str, option: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep or not name:
        raise CommandError(f"{option} takes NAME=VALUE, got {item!r}.")
    return name, value


def resolve(job, context_name, parameters, connection_urls) -> ResolvedRun:
    """The run's components, connections and secrets to mask.

    The context resolves everything (contexts.resolution: typed parameters,
    environment, credentials). A connection given on the command line replaces
    the context's credential of that name: the components naming it are
    resolved without their `connection` field, which is put back afterwards.
    """
    overrides, passwords = {}, []
    for name, url in connection_urls.items():
        try:
            parsed = from_url(url)
        except ConnectionFailed as error:
            raise CommandError(f"--connection {name}: {error.message}") from None
        overrides[name] = {"url": url, "kind": parsed["kind"]}
        passwords.append(parsed.get("password"))
    standin = JobWithConnectionsGiven(job, overrides)
    try:
        resolved = resolve_run_inputs(standin, context_name, parameters)
    except RunInputError as error:
        raise CommandError(f"Cannot run job {job.name!r}: {error}") from None
    standin.restore(resolved.components)
    resolved.connections = {**resolved.connections, **overrides}
    resolved.secrets = sorted({*resolved.secrets, *passwords} - {"", None})
    return resolved


class JobWithConnectionsGiven:
    """The job as resolve_run_inputs sees it when some connections come from
    the command line: components using them lose their `connection` field, so
    the context is not asked for that credential; `restore` puts it back."""

    def __init__(self, job, given: dict):
        self.job = job
        self.given = given
        self.removed: dict[str, str] = {}  # component name -> its connection name

    def __getattr__(self, attribute):
        return getattr(self.job, attribute)

    def component_dicts(self) -> list[dict]:
        components = self.job.component_dicts()
        for component in components:
            config = component.get("config") or {}
            if config.get("connection") in self.given:
                self.removed[component["name"]] = config.pop("connection")
        return components

    def restore(self, components: list[dict]) -> None:
        for component in components:
            if component["name"] in self.removed:
                component["config"]["connection"] = self.removed[component["name"]]


def used_schemas(components) -> dict[str, dict]:
    names = {c["config"].get("schema") for c in components if c["type"] == "validate"}
    return {schema.name: schema.definition() for schema in Schema.objects.filter(name__in=names)}


class ProgressBar:
    """The engine's control hook: redraws one line on stderr between batches."""

    WIDTH = 30

    def __init__(self, stream):
        self.stream = stream
        self.interactive = sys.stderr.isatty()
        self.last_drawn = 0.0

    def __call__(self, progress):
        now = time.monotonic()
        if now - self.last_drawn < 0.2 and progress.percent not in (0, 100):
            return
        self.last_drawn = now
        percent = progress.percent or 0.0
        filled = int(self.WIDTH * percent / 100)
        line = (
            f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {percent:5.1f}%  {progress.rows_read:,} rows read"
        )
        self.stream.write(
            ("\r" + line) if self.interactive else line, ending="" if self.interactive else "\n"
        )
        self.stream.flush()


def counters_table(components: dict[str, dict]) -> str:
    width = max([len("component")] + [len(name) for name in components])
    header = "component".ljust(width) + "".join(column.rjust(15) for column in COUNTER_COLUMNS)
    lines = [header]
    for name, counters in components.items():
        lines.append(name.ljust(width) + "".join(f"{counters[column]:>15,}" for column in COUNTER_COLUMNS))
    return "\n".join(lines)
