"""Re-encrypt every stored secret with the newest key of ETL_CREDENTIALS_KEY.

Rotation: put the new key first and keep the old one after it
(`ETL_CREDENTIALS_KEY=new,old`), run this command, then drop the old key.
All or nothing: if one secret cannot be decrypted, nothing is changed.
Apps above contexts that keep secrets of their own (monitoring's webhook
secrets) re-encrypt them in the same transaction, on `secrets_reencrypting`.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from contexts import crypto
from contexts.models import Credential, Parameter
from contexts.signals import secrets_reencrypting


class Command(BaseCommand):
    help = "Re-encrypt every credential secret and secret parameter with the newest ETL_CREDENTIALS_KEY."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Check every secret decrypts; change nothing."
        )

    def handle(self, *args, dry_run=False, **options):
        problem = crypto.key_problem()
        if problem:
            raise CommandError(problem)
        try:
            with transaction.atomic():
                credentials, parameters = self._reencrypt_all()
                others = [answer for _, answer in secrets_reencrypting.send(sender=Command)]
                if dry_run:
                    transaction.set_rollback(True)
        except crypto.CredentialKeyError as error:
            raise CommandError(f"Nothing was changed. {error}") from None
        verb = "Would re-encrypt" if dry_run else "Re-encrypted"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {credentials} credential secret(s) and {parameters} secret parameter(s)."
            )
        )
        for count, what in others:
            self.stdout.write(self.style.SUCCESS(f"{verb} {count} {what}."))

    def _reencrypt_all(self) -> tuple[int, int]:
        credential_count = parameter_count = 0
        for credential in Credential.objects.select_for_update().exclude(encrypted_secrets={}):
            credential.encrypted_secrets = {
                name: crypto.reencrypt(token) for name, token in credential.encrypted_secrets.items()
            }
            credential.save(update_fields=["encrypted_secrets"])
            credential_count += len(credential.encrypted_secrets)
        for parameter in Parameter.objects.select_for_update().exclude(encrypted_value=""):
            parameter.encrypted_value = crypto.reencrypt(parameter.encrypted_value)
            parameter.save(update_fields=["encrypted_value"])
            parameter_count += 1
        return credential_count, parameter_count
