from django.apps import AppConfig


class EtlsiteConfig(AppConfig):
    name = "etlsite"
    verbose_name = "etlsite"

    def ready(self):
        from etlsite.request_id import install_log_record_factory

        install_log_record_factory()
