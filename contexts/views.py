from contextlib import contextmanager

from django.db.models import ProtectedError
from django.utils.functional import cached_property
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404  # a malformed id is a 404 too
from rest_framework.response import Response

from accounts.access import name_jobs
from accounts.audit import AuditedViewSetMixin, record, snapshot
from contexts import crypto
from contexts.access import visible_contexts
from contexts.connectivity import TESTABLE_KINDS, check_credential
from contexts.filters import ContextFilterSet
from contexts.models import Context, Credential
from contexts.serializers import (
    CloneSerializer,
    ContextSerializer,
    CredentialSerializer,
    EnvironmentSerializer,
    ParameterSerializer,
)
from etlsite.errors import Conflict
from etlsite.permissions import SCOPE_ADMIN, credential_scopes


class CredentialKeyUnavailable(exceptions.APIException):
    """The server cannot encrypt or decrypt secrets (key missing, malformed or wrong)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "credentials_key"


class ContextViewSet(AuditedViewSetMixin, viewsets.ModelViewSet):
    queryset = Context.objects.prefetch_related(
        "parameters", "credentials", "default_for_jobs", "allowed_groups"
    )
    serializer_class = ContextSerializer
    filterset_class = ContextFilterSet
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at", "updated_at", "id"]
    # Writes on sub-routes: changing a context needs change_context.
    action_permissions = {
        "put_environment": "contexts.change_context",
        "put_parameters": "contexts.change_context",
        "clone": "contexts.add_context",
    }
    extra_error_statuses = {"destroy": ("409",)}

    def get_queryset(self):
        return visible_contexts(self.request, super().get_queryset())

    def perform_destroy(self, context):
        self._check_may_delete_credentials_of(context)
        if context.default_for_jobs.exists():
            raise self._in_use(context)
        try:
            super().perform_destroy(context)
        except ProtectedError as error:  # a job made it its default meanwhile
            raise self._in_use(context) from error

    def _in_use(self, context) -> Conflict:
        jobs = name_jobs(self.request, context.default_for_jobs.all())
        return Conflict(
            f"Context {context.name!r} is the default context of these jobs: {jobs}; "
            "give those jobs another default_context first.",
            details=jobs.details(),
        )

    def _check_may_delete_credentials_of(self, context):
        """Deleting a context deletes its credentials: that needs what deleting them one
        by one needs (the delete_credential permission, and the admin scope on a key)."""
        names = sorted(context.credentials.values_list("name", flat=True))
        if not names:
            return
        held = f"Context {context.name!r} has credentials ({', '.join(names)}), which deleting it deletes too"
        if not self.request.user.has_perm("contexts.delete_credential"):
            raise exceptions.PermissionDenied(
                f"{held}: that needs the delete_credential permission (the admin role). "
                "Ask an admin, or delete the credentials first."
            )
        scopes = credential_scopes(self.request)
        if scopes is not None and SCOPE_ADMIN not in scopes:
            raise exceptions.PermissionDenied(f"{held}: that needs a credential with the 'admin' scope.")

    @extend_schema(responses=EnvironmentSerializer)
    @action(detail=True, methods=["get"], url_path="environment")
    def environment(self, request, pk=None):
        """Environment values (NAME -> text) used in configs as ${env.NAME}."""
        return Response(self.get_object().environment)

    @extend_schema(request=EnvironmentSerializer, responses=EnvironmentSerializer)
    @environment.mapping.put
    def put_environment(self, request, pk=None):
        """Replace all environment values."""
        context = self.get_object()
        serializer = EnvironmentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        before = {"environment": context.environment}
        context.environment = serializer.validated_data
        context.save(update_fields=["environment", "updated_at"])
        record(request, "update", context, before=before, after={"environment": context.environment})
        return Response(context.environment)

    @extend_schema(responses=ParameterSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="parameters", pagination_class=None, filter_backends=[])
    def parameters(self, request, pk=None):
        """Typed parameters used in configs as ${name} (secret values are never returned)."""
        return Response(ParameterSerializer(self.get_object().parameters.all(), many=True).data)

    @extend_schema(request=ParameterSerializer(many=True), responses=ParameterSerializer(many=True))
    @parameters.mapping.put
    def put_parameters(self, request, pk=None):
        """Replace the parameter list. A secret given without `value` keeps its stored value."""
        context = self.get_object()
        serializer = ParameterSerializer(data=request.data, many=True)
        serializer.is_valid(raise_exception=True)
        before = ParameterSerializer(context.parameters.all(), many=True).data
        with encryption_errors_as_503():
            parameters = serializer.replace(context)
        after = ParameterSerializer(parameters, many=True).data
        record(request, "update", context, before={"parameters": before}, after={"parameters": after})
        return Response(after)

    @extend_schema(request=CloneSerializer, responses={201: ContextSerializer})
    @action(detail=True, methods=["post"], url_path="clone")
    def clone(self, request, pk=None):
        """Copy the context (parameters, environment, credentials with their secrets) to a new name."""
        context = self.get_object()
        if context.credentials.exists() and not request.user.has_perm("contexts.add_credential"):
            raise exceptions.PermissionDenied(
                "Cloning a context with credentials needs the add_credential permission."
            )
        serializer = CloneSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        copy = context.clone(**serializer.validated_data)
        record(request, "clone", copy, before={"source": context.name}, after=snapshot(copy))
        return Response(
            ContextSerializer(self.get_queryset().get(pk=copy.pk)).data, status=status.HTTP_201_CREATED
        )


class CredentialViewSet(AuditedViewSetMixin, viewsets.ModelViewSet):
    """/contexts/{id}/credentials: secret values are never returned, only `secrets_set`.
    An update without a secret keeps it; `"secrets": {"password": null}` clears it."""

    queryset = Credential.objects.select_related("context")
    serializer_class = CredentialSerializer
    lookup_url_kwarg = "credential_id"
    lookup_value_regex = r"\d+"
    pagination_class = None
    filter_backends = []
    # Declared rather than derived from the queryset, whose parent lookup would answer 404 before 403.
    action_permissions = {
        "create": "contexts.add_credential",
        "update": "contexts.change_credential",
        "partial_update": "contexts.change_credential",
        "destroy": "contexts.delete_credential",
        "test": "contexts.change_credential",
    }
    # A scoped API key or OAuth2 token needs the `admin` scope to touch credentials.
    action_scopes = {action: "admin" for action in ("create", "update", "partial_update", "destroy", "test")}
    # A credential test waits on the database it tries; it writes only its audit
    # event, and must not hold SQLite's write lock meanwhile (etlsite/atomic_writes.py).
    non_atomic_actions = ("test",)

    @cached_property
    def etl_context(self) -> Context:
        return get_object_or_404(visible_contexts(self.request), pk=self.kwargs["context_pk"])

    def get_queryset(self):
        return super().get_queryset().filter(context=self.etl_context)

    def perform_create(self, serializer):
        with encryption_errors_as_503():
            super().perform_create(serializer)

    def perform_update(self, serializer):
        with encryption_errors_as_503():
            super().perform_update(serializer)

    @extend_schema(
        request=None,
        responses=inline_serializer(
            "CredentialTestResult",
            {
                "ok": serializers.BooleanField(),
                "message": serializers.CharField(),
                "seconds": serializers.FloatField(),
            },
        ),
    )
    @action(detail=True, methods=["post"])
    def test(self, request, context_pk=None, credential_id=None):
        """Connect with the stored credential; answers ok or the driver's error (secrets masked)."""
        credential = self.get_object()
        if credential.kind not in TESTABLE_KINDS:
            raise serializers.ValidationError(
                {
                    "kind": [
                        f"Only {', '.join(TESTABLE_KINDS)} credentials can be tested, not {credential.kind}."
                    ]
                }
            )
        with encryption_errors_as_503():
            result = check_credential(credential)
        record(request, "credential_test", credential, after=result)
        return Response(result)


@contextmanager
def encryption_errors_as_503():
    """A missing or wrong credentials key becomes a clear 503; the request's
    transaction (etlsite/atomic_writes.py) rolls back what was saved."""
    try:
        yield
    except crypto.CredentialKeyError as error:
        raise CredentialKeyUnavailable(str(error)) from None
