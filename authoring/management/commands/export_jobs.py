"""`python manage.py export_jobs --dir DIR [--job NAME ...]`

Writes one YAML file per job (`jobs/<name>.yaml`) and per context and schema
(`contexts/`, `schemas/`) into DIR, keys in a fixed order so the files diff
well under version control. With `--job`, only those jobs and the contexts and
schemas they use. With `--with-state`, also each job's incremental state
(`state/<job>.yaml`, execution/incremental/documents.py): off by default, as
watermarks belong to one installation's data. Secret values are never
written. `apply_jobs DIR` reads them back.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from authoring.documents import export_documents, file_name
from jobs.documents import to_yaml
from jobs.models import Job


class Command(BaseCommand):
    help = "Write jobs, contexts and schemas as YAML files (jobs as code)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dir", required=True, type=Path, help="Folder to write into (created if missing)."
        )
        parser.add_argument(
            "--job", action="append", default=[], metavar="NAME", help="Only this job (repeatable)."
        )
        parser.add_argument(
            "--with-state",
            action="store_true",
            help="Also write the jobs' incremental state (state/<job>.yaml): watermarks and files loaded.",
        )

    def handle(self, *args, dir: Path, job: list[str], with_state: bool = False, **options):
        jobs = None
        if job:
            jobs = Job.objects.filter(name__in=job)
            missing = sorted(set(job) - set(jobs.values_list("name", flat=True)))
            if missing:
                raise CommandError(f"No job named {', '.join(map(repr, missing))}.")
        for document in export_documents(jobs, also=("state",) if with_state else ()):
            path = dir / file_name(document)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(to_yaml(document), encoding="utf-8")
            self.stdout.write(f"wrote {path}")
