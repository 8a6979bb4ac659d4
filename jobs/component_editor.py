"""The admin's component editor: one card per component, with its type chosen
from the catalogue (grouped by kind), its inputs from the job's other
components (and their `.rejects` ports), and its config edited through a
form generated from the type's JSON Schema (jobs/config_forms.py) or as raw
JSON. Problems the graph check finds are put next to the component and the
field they concern. static/etlsite/component-editor.js keeps the form, the
inputs and the graph in step as the admin types.
"""

import json

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string

from execution.engine.graph import split_input, validate_components
from execution.engine.registry import KINDS, UnknownComponentType, all_specs, get_spec
from jobs.config_forms import render_config_form
from jobs.models import Component


def type_choices() -> list:
    """`[("", ...), ("sources", [(type, type), ...]), ...]`: a select grouped by kind."""
    groups = {kind: [] for kind in KINDS}
    for spec in all_specs():
        groups[spec.kind].append((spec.type, spec.type))
    return [("", "— choose a type —")] + [(f"{kind}s", types) for kind, types in groups.items() if types]


def outputs_of(type_name: str) -> tuple[str, ...]:
    try:
        return get_spec(type_name).outputs
    except UnknownComponentType:
        return ()


class TypeSelect(forms.Select):
    """Each option titled with its type's summary, which the editor shows under the select."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        if value:  # the choices are the catalogue's types
            option["attrs"]["title"] = get_spec(value).summary
        return option


class InputsField(forms.MultipleChoiceField):
    """Any names are accepted here: the graph check says which input names nothing."""

    def validate(self, value):
        pass


class ConfigWidget(forms.Widget):
    """The generated form, the raw JSON (what is submitted) and a Preview button."""

    template_name = "admin/jobs/job/config_widget.html"

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.component_type = ""
        # Config key -> message, set by ComponentFormSet.clean.
        self.errors: dict[str, str] = {}

    def render(self, name, value, attrs=None, renderer=None):
        # The project's templates (templates/admin/...), not the form renderer's own
        # folders; what a template renders is already safe (escaped by it).
        context = self.get_context(name, value, self.build_attrs(self.attrs, attrs))
        return render_to_string(self.template_name, context)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        text = value if isinstance(value, str) else json.dumps(value or {})
        try:
            config = json.loads(text)
        except ValueError:
            config = None
        readable = isinstance(config, dict)
        context["widget"].update(
            raw=text,
            raw_open=not readable,
            form=render_config_form(
                self.component_type, config if readable else {}, self.errors, attrs.get("id", name)
            ),
            preview_max=settings.ETL_PREVIEW_MAX_ROWS,
        )
        return context


class ComponentForm(forms.ModelForm):
    type = forms.ChoiceField(choices=type_choices, widget=TypeSelect)
    inputs = InputsField(
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
        help_text="The components it reads (Ctrl or ⌘ to pick several).",
    )

    class Meta:
        model = Component
        fields = ["position", "name", "type", "inputs", "config"]
        widgets = {"config": ConfigWidget, "position": forms.NumberInput(attrs={"class": "position"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["config"].widget.component_type = self["type"].value() or ""

    def offer_inputs(self, references: list[str]) -> None:
        """The inputs it may choose: `references` but its own, plus whatever it already names."""
        own = self["name"].value() or ""
        chosen = [str(value) for value in self["inputs"].value() or []]
        offered = [ref for ref in references if split_input(ref)[0] != own]
        self.fields["inputs"].choices = [(ref, ref) for ref in dict.fromkeys(offered + chosen)]


class ComponentFormSet(forms.BaseInlineFormSet):
    """Validate the graph the cards form together, before anything is saved, and
    put each problem next to its component and field."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if isinstance(form, ComponentForm):
            form.offer_inputs(self._references())

    def _references(self) -> list[str]:
        """Every `name` and `name.<port>` the rows (as submitted, or as saved) give."""
        if self.is_bound:
            total = int(self.data.get(f"{self.prefix}-TOTAL_FORMS") or 0)
            rows = [
                (self.data.get(f"{self.prefix}-{i}-name"), self.data.get(f"{self.prefix}-{i}-type"))
                for i in range(min(total, self.max_num or total))
            ]
        else:
            rows = [(c.name, c.type) for c in self.get_queryset()]
        references = []
        for name, type_name in rows:
            if name:
                references += [name] + [
                    f"{name}.{port}" for port in outputs_of(type_name or "") if port != "main"
                ]
        return references

    def clean(self):
        super().clean()
        live = [form for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")]
        live.sort(key=lambda f: f.cleaned_data.get("position") or 0)
        components = [
            {
                "name": form.cleaned_data.get("name"),
                "type": form.cleaned_data.get("type"),
                "inputs": form.cleaned_data.get("inputs") or [],
                "config": form.cleaned_data.get("config") or {},
            }
            for form in live
        ]
        problems = validate_components(components, data_roots=settings.ETL_DATA_ROOTS)
        if not problems:
            return
        forms_by_name = {form.cleaned_data.get("name"): form for form in live}
        elsewhere = []
        for problem in problems:
            form = forms_by_name.get(problem.component)
            if form is None:
                elsewhere.append(problem.describe())
                continue
            place_problem(form, problem.field or "config", problem.message)
        raise ValidationError(
            elsewhere or [f"The graph has {len(problems)} problem(s): each is marked at its component below."]
        )


def place_problem(form: ComponentForm, field: str, message: str) -> None:
    """`name`, `type` and `inputs` problems go on that field; config ones at the top of
    the component card and next to the config field they name."""
    top, _, rest = field.partition(".")
    if top in ("name", "type", "inputs"):
        form.add_error(top, message)
        return
    key = rest.split(".")[0]
    form.add_error(None, f"{field}: {message}")
    if key:
        form.fields["config"].widget.errors.setdefault(key, message)
