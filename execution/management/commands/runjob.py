"""`python manage.py runjob <job id or name> [--context NAME] [--param k=v ...] [--connection name=URL ...]`

Runs a saved job in this process with a progress bar, records it as an
Execution (trigger `cli`) like any other run, prints per-component counters at
the end and exits non-zero when the run fails.
"""

import gc
import time

from django.core.management.base import BaseCommand, CommandError, OutputWrapper

from contexts.resolution import RunInputError
from etlsite.errors import Conflict
from execution.engine.connections import ConnectionFailed, from_url
from execution.models import State
from execution.worker import run_in_foreground
from jobs.models import Job

COUNTER_COLUMNS = ("rows_in", "rows_out", "rows_rejected", "batches", "seconds", "bytes_read")


class Command(BaseCommand):
    help = "Run a saved job in the foreground, with a progress bar and per-component counters."
    # No system checks: they import every URLconf, view and serializer (about
    # a third of a second) that running a job never uses. `manage.py check`
    # and the workers' `qcluster` still run them.
    requires_system_checks = []

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

    def run_from_argv(self, argv):
        # A process started for this command (`manage.py runjob`, not
        # call_command): everything Django, the apps and the engine made so
        # far lives until it ends. Frozen, the cyclic garbage collector no
        # longer rescans it during the run, and the interpreter's last
        # collection at exit does not tear it down object by object: about
        # 0.3 s of a trivial run's 1 s (docs/performance.md, "Startup and the
        # transform job"). Objects the run makes are collected as usual.
        gc.freeze()
        super().run_from_argv(argv)

    def handle(self, *args, **options):
        job = find_job(options["job"])
        parameters = dict(split_pair(item, "--param") for item in options["param"])
        given = given_connections(dict(split_pair(item, "--connection") for item in options["connection"]))
        started = time.monotonic()
        progress = ProgressBar(self.stdout, self.stderr)
        try:
            # Recorded like any other run (trigger `cli`): history, logs, metrics, follow-ups.
            execution = run_in_foreground(
                job,
                context_name=options["context"],
                overrides=parameters,
                on_progress=progress,
                given_connections=given,
            )
        except RunInputError as error:
            raise CommandError(f"Cannot run job {job.name!r}: {error}") from None
        except Conflict as error:
            raise CommandError(f"Cannot run job {job.name!r}: {error.detail}") from None
        except KeyboardInterrupt:
            progress.end()
            raise CommandError(f"Job {job.name!r} interrupted; every target was left as it was.") from None
        progress.end()
        if execution.counters:
            self.stdout.write(counters_table(execution.counters))
        for metric in execution.custom_metrics:
            self.stdout.write(f"metric {metric['name']} {metric['labels']} = {metric['value']}")
        if execution.state != State.SUCCEEDED:
            # The worker stored the error with every secret of the context masked.
            reason = describe_error(execution.error) or execution.state
            raise CommandError(f"Job {job.name!r} failed (execution #{execution.pk}): {reason}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Job {job.name!r} succeeded in {time.monotonic() - started:.1f}s (execution #{execution.pk})."
            )
        )


def describe_error(error: dict) -> str:
    """`component 'x', field 'y', file.csv line 3: message`, from a stored error."""
    where = [
        f"component '{error['component']}'" if error.get("component") else "",
        f"field '{error['field']}'" if error.get("field") else "",
        error.get("location") or "",
    ]
    where = ", ".join(part for part in where if part)
    message = error.get("message", "")
    return f"{where}: {message}" if where else message


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


def given_connections(connection_urls: dict[str, str]) -> dict[str, dict]:
    """`--connection NAME=URL`: engine connection dicts standing in for the
    context's credentials of those names (their passwords are masked too)."""
    given = {}
    for name, url in connection_urls.items():
        try:
            given[name] = {**from_url(url), "url": url}
        except ConnectionFailed as error:
            raise CommandError(f"--connection {name}: {error.message}") from None
    return given


class ProgressBar:
    """The engine's control hook, between batches. On a terminal it redraws one
    bar on stderr in the terminal's own colours (not the red of Django's
    stderr style); otherwise it prints a plain line per update on stdout,
    where the table follows, so a log file reads in order."""

    WIDTH = 30
    EVERY_SECONDS = 0.2
    # Without a terminal a line per second is plenty.
    EVERY_SECONDS_PLAIN = 1.0

    def __init__(self, stdout: OutputWrapper, stderr: OutputWrapper):
        self.interactive = stderr.isatty()
        # A wrapper of the same stream without a style: its text stays as written.
        self.stream = OutputWrapper(stderr._out) if self.interactive else stdout
        self.every = self.EVERY_SECONDS if self.interactive else self.EVERY_SECONDS_PLAIN
        self.last_drawn = None
        self.last_percent = None

    def __call__(self, progress):
        now = time.monotonic()
        percent = progress.percent or 0.0
        due = self.last_drawn is None or now - self.last_drawn >= self.every
        if not due and not (percent >= 100 and self.last_percent != percent):
            return
        self.last_drawn, self.last_percent = now, percent
        if self.interactive:
            filled = int(self.WIDTH * percent / 100)
            bar = f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] "
            self.stream.write(f"\r{bar}{percent:5.1f}%  {progress.rows_read:,} rows read", ending="")
        else:
            self.stream.write(f"progress {percent:5.1f}%  {progress.rows_read:,} rows read")
        self.stream.flush()

    def end(self) -> None:
        """Ends the bar's line (nothing to end for plain lines)."""
        if self.interactive and self.last_drawn is not None:
            self.stream.write("")
            self.stream.flush()


def counters_table(components: dict[str, dict]) -> str:
    width = max([len("component")] + [len(name) for name in components])
    header = "component".ljust(width) + "".join(column.rjust(15) for column in COUNTER_COLUMNS)
    lines = [header]
    for name, counters in components.items():
        lines.append(name.ljust(width) + "".join(_cell(counters[column]) for column in COUNTER_COLUMNS))
    return "\n".join(lines)


def _cell(value) -> str:
    # Seconds are floats: three decimals; counts get thousands separators.
    return f"{value:>15,.3f}" if isinstance(value, float) else f"{value:>15,}"
