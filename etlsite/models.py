"""Run-time settings: the one model of the project's base layer, read by every
app through etlsite/configuration.py."""

from django.conf import settings
from django.db import models


class SystemSetting(models.Model):
    """A run-time setting an admin changed; defaults live in etlsite/configuration.py."""

    name = models.CharField(max_length=100, primary_key=True)
    value = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        # Moved from the monitoring app; the table kept its name.
        db_table = "monitoring_systemsetting"
        ordering = ["name"]

    def __str__(self):
        return f"{self.name}={self.value!r}"
