from django.core.management.base import BaseCommand

from monitoring.setup import initialize_system


class Command(BaseCommand):
    help = "Create what a fresh install needs (admin account, roles, demo data). Safe to rerun."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-demo", action="store_true", help="Do not create the demo job and its sample data."
        )

    def handle(self, *args, **options):
        report = initialize_system(demo=not options["no_demo"])
        admin = report["admin"]
        if admin["admin"] == "created":
            self.stdout.write(
                self.style.WARNING(
                    f"Created admin account '{admin['username']}' with password: {admin['password']}\n"
                    "It is shown only this once: note it now."
                )
            )
        for item, outcome in report.items():
            if item != "admin":
                self.stdout.write(f"{item}: {outcome}")
