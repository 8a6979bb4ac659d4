from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.utils import timezone

from etlsite.configuration import get_setting
from etlsite.json_rows import StoredJSON, rows_in_order, rows_of
from jobs.config import DEFAULT_JOB_CONFIG

name_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
    "Use letters, digits, '_', '.' or '-', starting with a letter or digit.",
)


class JobQuerySet(models.QuerySet):
    def with_graph(self):
        """Jobs with their components and upstream links read in the same query, as
        the rows `component_dicts()` and `upstream_dicts()` give (etlsite/json_rows.py)."""
        return self.select_related("default_context").annotate(
            component_rows=rows_of(
                Component.objects,
                "job",
                name="name",
                type="type",
                inputs=StoredJSON("inputs"),
                config=StoredJSON("config"),
                position="position",
            ),
            # An upstream job is shown by its name only.
            upstream_rows=rows_of(
                JobDependency.objects, "downstream", id="id", job="upstream__name", condition="condition"
            ),
        )


class Job(models.Model):
    """A graph of components (sources -> transforms -> sinks) run as one unit."""

    name = models.CharField(max_length=100, unique=True, validators=[name_validator])
    description = models.TextField(blank=True, default="")
    default_context = models.ForeignKey(
        "contexts.Context",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="default_for_jobs",
    )
    config = models.JSONField(default=dict, blank=True)
    allowed_groups = models.ManyToManyField(
        "auth.Group",
        blank=True,
        related_name="+",
        help_text="If any, only members of these groups (and admins) see and run this job.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def audit_snapshot(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "default_context": self.default_context_id,
            "config": self.config,
            "components": self.component_dicts(),
        }

    @property
    def effective_config(self) -> dict:
        """The stored config over the defaults, so every key is present. The
        batch size's default is the one an admin may change at run time."""
        defaults = {"batch_size": get_setting("default_batch_size"), **DEFAULT_JOB_CONFIG}
        return {**defaults, **(self.config or {})}

    def component_dicts(self) -> list[dict]:
        """The components as the plain dicts the engine takes, in saved order
        (read with the job by `with_graph()`, else one query)."""
        if "component_rows" not in self.__dict__:
            return [component.as_dict() for component in self.components.all()]
        return [
            {"name": row["name"], "type": row["type"], "inputs": row["inputs"], "config": row["config"]}
            for row in rows_in_order(self.component_rows, "position")
        ]

    def upstream_dicts(self) -> list[dict]:
        """The upstream links as `{"id", "job", "condition"}` (the upstream job's
        name), oldest first (read with the job by `with_graph()`, else one query)."""
        if "upstream_rows" not in self.__dict__:
            links = self.upstream_links.order_by("id").values("id", "upstream__name", "condition")
            return [
                {"id": link["id"], "job": link["upstream__name"], "condition": link["condition"]}
                for link in links
            ]
        return [
            {"id": row["id"], "job": row["job"], "condition": row["condition"]}
            for row in rows_in_order(self.upstream_rows, "id")
        ]

    @transaction.atomic
    def replace_components(self, components: list[dict]) -> None:
        """Swap the whole component list at once (a graph is valid only as a whole)."""
        self.__dict__.pop("component_rows", None)  # read with the job: no longer what is saved
        self.components.all().delete()
        Component.objects.bulk_create(
            Component(
                job=self,
                position=position,
                name=item["name"],
                type=item["type"],
                config=item.get("config") or {},
                inputs=item.get("inputs") or [],
            )
            for position, item in enumerate(components)
        )


class Component(models.Model):
    """One node of a job's graph: its type comes from the engine's registry."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="components")
    name = models.CharField(max_length=63)
    type = models.CharField(max_length=50)
    config = models.JSONField(default=dict, blank=True)
    inputs = models.JSONField(default=list, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["job", "position"]
        constraints = [models.UniqueConstraint(fields=["job", "name"], name="unique_component_name_per_job")]

    def __str__(self):
        return f"{self.job.name}.{self.name}"

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "type": self.type,
            "inputs": list(self.inputs),
            "config": dict(self.config),
        }


class JobDependency(models.Model):
    """`downstream` starts when an execution of `upstream` ends in a matching state."""

    class Condition(models.TextChoices):
        ON_SUCCESS = "on_success"
        ON_FAILURE = "on_failure"
        ALWAYS = "always"

    upstream = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="downstream_links")
    downstream = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="upstream_links")
    condition = models.CharField(max_length=20, choices=Condition.choices, default=Condition.ON_SUCCESS)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "job dependencies"
        constraints = [
            models.UniqueConstraint(fields=["upstream", "downstream"], name="unique_job_dependency"),
            models.CheckConstraint(
                condition=~models.Q(upstream=models.F("downstream")), name="job_dependency_not_self"
            ),
        ]

    def __str__(self):
        return f"{self.upstream.name} -> {self.downstream.name} ({self.condition})"

    def audit_snapshot(self) -> dict:
        return {
            "upstream": self.upstream.name,
            "downstream": self.downstream.name,
            "condition": self.condition,
        }

    @staticmethod
    def would_create_cycle(upstream: Job, downstream: Job) -> bool:
        """True if `downstream` already (transitively) leads to `upstream`."""
        frontier, seen = [downstream.pk], set()
        while frontier:
            current = frontier.pop()
            if current == upstream.pk:
                return True
            if current in seen:
                continue
            seen.add(current)
            frontier.extend(
                JobDependency.objects.filter(upstream_id=current).values_list("downstream_id", flat=True)
            )
        return False


class JobVersion(models.Model):
    """A job's definition as one save left it (jobs/versions.py writes them):
    name, description, default context, config, dependencies and components,
    in the document shape of jobs as code (jobs/documents.py)."""

    class Via(models.TextChoices):
        API = "api"
        ADMIN = "admin"
        APPLY = "apply"
        RESTORE = "restore"
        SETUP = "setup"
        # A job changed by none of the above (e.g. saved before versions were kept)
        # gets its version when it next starts, so every run names the definition it ran.
        START = "start"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as text too, so history still says who after the account is deleted.
    created_by_name = models.CharField(max_length=150, blank=True, default="")
    via = models.CharField(max_length=10, choices=Via.choices)
    summary = models.CharField(max_length=500)
    definition = models.JSONField()

    class Meta:
        ordering = ["job", "-number"]
        constraints = [models.UniqueConstraint(fields=["job", "number"], name="unique_job_version_number")]

    def __str__(self):
        return f"{self.job.name} v{self.number}"
