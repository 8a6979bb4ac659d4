from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts, API keys and audit"

    def ready(self):
        from accounts import schema, signals  # noqa: F401
