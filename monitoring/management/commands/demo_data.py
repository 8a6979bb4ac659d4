from django.core.management.base import BaseCommand

from monitoring.demo_data import ensure_payments_file


class Command(BaseCommand):
    help = "Write the long demo job's generated payments file (two million rows) unless it is there."

    def handle(self, *args, **options):
        report = ensure_payments_file()
        self.stdout.write(f"demo payments: {report['outcome']} ({report['path']})")
