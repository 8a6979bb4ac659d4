"""Admin pages for channels, rules and the delivery log. The secret is
write-only as in the API; the same checks as the API's apply (URL policy,
recipients, jobs the rule's owner may see)."""

from django import forms
from django.contrib import admin
from django.db.models import Q

from contexts import crypto
from jobs.access import visible_jobs
from monitoring.models import RULE_EVENTS, NotificationChannel, NotificationDelivery, NotificationRule
from monitoring.notifications.serializers import MIN_SECRET_LENGTH, config_problems


class ChannelForm(forms.ModelForm):
    new_secret = forms.CharField(
        required=False,
        strip=False,
        min_length=MIN_SECRET_LENGTH,
        widget=forms.PasswordInput(render_value=False),
        help_text="Webhooks: the signing secret. Leave empty to keep the stored one.",
    )

    class Meta:
        model = NotificationChannel
        fields = ["name", "kind", "config", "new_secret"]

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        for key, messages in config_problems(kind, data.get("config")).get("config", {}).items():
            self.add_error("config", f"{key}: {' '.join(messages)}")
        has_secret = bool(data.get("new_secret")) or self.instance.secret_set
        if kind == NotificationChannel.Kind.WEBHOOK and not has_secret:
            self.add_error("new_secret", "A webhook is signed: give a secret.")
        return data

    def save(self, commit=True):
        channel = super().save(commit=False)
        if channel.kind == NotificationChannel.Kind.EMAIL:
            channel.encrypted_secret = ""
        elif self.cleaned_data.get("new_secret"):
            channel.encrypted_secret = crypto.encrypt(self.cleaned_data["new_secret"])
        if commit:
            channel.save()
        return channel


@admin.register(NotificationChannel)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelForm
    list_display = ["name", "kind", "secret_set", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["name"]
    readonly_fields = ["secret_set"]


class RuleForm(forms.ModelForm):
    events = forms.MultipleChoiceField(choices=[(event, event) for event in RULE_EVENTS])

    class Meta:
        model = NotificationRule
        fields = ["name", "channel", "events", "all_jobs", "jobs", "enabled"]

    def clean(self):
        data = super().clean()
        if not data.get("all_jobs") and not data.get("jobs"):
            self.add_error("jobs", "Choose jobs, or tick 'all jobs'.")
        return data


@admin.register(NotificationRule)
class RuleAdmin(admin.ModelAdmin):
    form = RuleForm
    list_display = ["name", "channel", "events", "all_jobs", "enabled", "owner"]
    list_filter = ["enabled", "channel"]
    search_fields = ["name"]
    readonly_fields = ["owner"]
    filter_horizontal = ["jobs"]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        # Only jobs the user may see, so a rule never names a job its owner cannot.
        if db_field.name == "jobs":
            kwargs["queryset"] = visible_jobs(request)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if obj.owner_id is None:
            obj.owner = request.user
        super().save_model(request, obj, form, change)


@admin.register(NotificationDelivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "event",
        "channel",
        "rule",
        "job",
        "execution",
        "status",
        "attempts",
        "response_code",
        "created_at",
    ]
    list_filter = ["status", "event", "channel"]
    list_select_related = ["channel", "rule", "job"]
    raw_id_fields = ["execution", "job"]
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        deliveries = super().get_queryset(request)
        return deliveries.filter(Q(job__isnull=True) | Q(job__in=visible_jobs(request).values("pk")))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
