"""`python manage.py apply_jobs DIR [--dry-run]`

Reads every YAML file under DIR (as `export_jobs` writes them), prints the
plan (create / update / unchanged, per context, schema and job) and applies
it in one transaction. Everything is checked first: a bad file changes
nothing, and each problem is printed as `file: field: message`. `--dry-run`
prints the plan and the problems without changing anything.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from authoring.apply import apply_documents
from authoring.plan import ApplyError, read_folder


class Command(BaseCommand):
    help = "Apply YAML files of jobs, contexts and schemas (jobs as code)."

    def add_arguments(self, parser):
        parser.add_argument("dir", type=Path, help="Folder of YAML files (export_jobs --dir writes one).")
        parser.add_argument("--dry-run", action="store_true", help="Print the plan; change nothing.")

    def handle(self, *args, dir: Path, dry_run: bool, **options):
        if not dir.is_dir():
            raise CommandError(f"{dir} is not a folder.")
        try:
            plan = apply_documents(read_folder(dir), dry_run=dry_run)
        except ApplyError as error:
            raise CommandError("Nothing was changed:\n" + "\n".join(error.lines())) from None
        for step in plan:
            self.stdout.write(f"{step['action']:<9} {step['kind']:<7} {step['name']}  ({step['file']})")
        counts = {
            action: sum(s["action"] == action for s in plan) for action in ("create", "update", "unchanged")
        }
        summary = ", ".join(f"{n} {action}" for action, n in counts.items())
        self.stdout.write(f"Dry run, nothing changed: {summary}." if dry_run else f"Applied: {summary}.")
