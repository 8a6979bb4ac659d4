"""Admin for contexts. Secret values are write-only here as in the API: the
forms take a new value, never show the stored one (nor its ciphertext)."""

from django import forms
from django.contrib import admin

from accounts.access import restrict_to_groups
from accounts.admin_grants import HiddenObjectsUnnamedOnDeletePages
from contexts.access import usable_contexts
from contexts.models import Context, Credential, Parameter
from contexts.values import ParameterType, coerce_value

KEEP_HINT = "Leave empty to keep the stored value."


class ParameterForm(forms.ModelForm):
    new_secret_value = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=f"Secret type only. {KEEP_HINT}",
    )
    clear_secret = forms.BooleanField(required=False, help_text="Secret type only: remove the stored value.")

    class Meta:
        model = Parameter
        fields = ["name", "type", "value", "new_secret_value", "clear_secret", "description"]

    def clean(self):
        data = super().clean()
        type_name = data.get("type")
        if type_name == ParameterType.SECRET:
            if data.get("value") is not None:
                self.add_error("value", "A secret parameter takes its value in 'new secret value'.")
        elif type_name and data.get("value") is not None:
            try:
                data["value"] = coerce_value(type_name, data["value"])
            except ValueError as error:
                self.add_error("value", str(error))
        return data

    def save(self, commit=True):
        parameter = super().save(commit=False)
        data = self.cleaned_data
        if parameter.is_secret:
            if data.get("clear_secret"):
                parameter.set_value(None)
            elif data.get("new_secret_value"):
                parameter.set_value(data["new_secret_value"])
        else:
            parameter.encrypted_value = ""
        if commit:
            parameter.save()
        return parameter


class ParameterInline(admin.TabularInline):
    model = Parameter
    form = ParameterForm
    extra = 0
    readonly_fields = ["value_set"]


class CredentialForm(forms.ModelForm):
    password = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False), help_text=KEEP_HINT
    )
    token = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False), help_text=KEEP_HINT
    )
    clear_secrets = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, help_text="Stored secrets to remove."
    )

    class Meta:
        model = Credential
        fields = ["context", "name", "kind", "description", "config", "password", "token", "clear_secrets"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clear_secrets"].choices = [(name, name) for name in self.instance.secrets_set]

    def clean(self):
        from contexts.serializers import credential_problems

        data = super().clean()
        if data.get("kind") and isinstance(data.get("config"), dict):
            new_secrets = [name for name in ("password", "token") if data.get(name)]
            for field, messages in credential_problems(data["kind"], data["config"], new_secrets).items():
                self.add_error(field if field in self.fields else None, messages)
        return data

    def save(self, commit=True):
        credential = super().save(commit=False)
        changes = {name: None for name in self.cleaned_data.get("clear_secrets") or []}
        changes.update(
            {name: self.cleaned_data[name] for name in ("password", "token") if self.cleaned_data.get(name)}
        )
        credential.update_secrets(changes)
        if commit:
            credential.save()
        return credential


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    form = CredentialForm
    list_display = ["name", "context", "kind", "secrets_set", "updated_at"]
    list_filter = ["kind", "context"]
    search_fields = ["name", "context__name"]
    readonly_fields = ["secrets_set"]
    list_select_related = ["context"]

    # Credentials of a context hidden from the user are hidden too, as in the API.
    def get_queryset(self, request):
        return super().get_queryset(request).filter(context__in=_visible_context_ids(request))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "context":
            kwargs["queryset"] = usable_contexts(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class CredentialInline(admin.TabularInline):
    """Read-only summary; credentials are edited on their own page (secrets need the form)."""

    model = Credential
    fields = ["name", "kind", "secrets_set"]
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Context)
class ContextAdmin(HiddenObjectsUnnamedOnDeletePages, admin.ModelAdmin):
    list_display = ["name", "is_default", "description", "updated_at"]
    search_fields = ["name", "description"]
    fields = ["name", "description", "is_default", "environment", "allowed_groups"]
    filter_horizontal = ["allowed_groups"]
    inlines = [ParameterInline, CredentialInline]

    # Restricted contexts stay invisible to staff outside their groups, as in the API.
    # Deleting one with credentials needs delete_credential: Django's delete pages
    # check it through CredentialAdmin for the credentials the delete would take along.
    def get_queryset(self, request):
        return super().get_queryset(request).filter(pk__in=_visible_context_ids(request))


def _visible_context_ids(request):
    # A pk subquery rather than restrict_to_groups' DISTINCT, which bulk delete refuses.
    return restrict_to_groups(Context.objects.all(), request.user).values("pk")
