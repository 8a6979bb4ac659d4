"""OpenAPI generation: every operation documents the errors it can answer.

Views declare their success responses (and any special error, e.g. a 409);
this schema class adds the standard ones with the uniform error body, so a
client (and the API fuzzing test) knows every status code it may get:

- 400 when the operation takes a body or query parameters, 415 when it takes a body,
- 401 when it authenticates, 403 when it checks permissions,
- 404 when its path names an object, or it is a paginated list (`?page=` past the end),
- 429 when it is throttled,
- and any a view lists in `extra_error_statuses`: a tuple for all its
  operations (e.g. `("401",)` for a view checking a token from its body), or
  a dict by viewset action or lowercase HTTP method, e.g.
  `{"destroy": ("409",)}` for a delete refused while something depends on it.
"""

from drf_spectacular import openapi
from rest_framework import serializers
from rest_framework.permissions import AllowAny


class ApiErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable: invalid, not_found, conflict, throttled...")
    message = serializers.CharField(help_text="What went wrong, for a person.")
    details = serializers.JSONField(help_text="Field errors, or a list of job graph problems.")
    request_id = serializers.CharField(help_text="Also in the X-Request-ID header and the server logs.")


class ApiErrorSerializer(serializers.Serializer):
    error = ApiErrorDetailSerializer()


ERROR_DESCRIPTIONS = {
    "400": "Bad input: `error.details` names each field.",
    "401": "No credentials, or credentials that are not valid.",
    "403": "Authenticated, but not allowed.",
    "404": "No such object (or hidden from you), or a page past the end.",
    "408": "The work took longer than its time limit (e.g. a preview: ETL_PREVIEW_TIME_LIMIT_SECONDS).",
    "409": "Conflicts with the current state (e.g. an execution already running).",
    "413": "The request body is larger than the configured limit.",
    "415": "The body's Content-Type is not one this operation reads (send application/json).",
    "429": "Too many requests; retry after the `Retry-After` header's seconds.",
}


class AutoSchema(openapi.AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in sorted(set(self._error_status_codes())):
            if code not in responses:
                response = self._get_response_for_code(ApiErrorSerializer, code, direction=direction)
                response["description"] = ERROR_DESCRIPTIONS[code]
                responses[code] = response
        return responses

    def _error_status_codes(self) -> list[str]:
        view = self.view
        extra = getattr(view, "extra_error_statuses", ())
        if isinstance(extra, dict):
            extra = extra.get(getattr(view, "action", None) or self.method.lower(), ())
        codes = list(extra)
        takes_query = bool(self._get_filter_parameters() or self._get_pagination_parameters())
        if self.method in ("POST", "PUT", "PATCH") or takes_query or self.get_override_parameters():
            codes.append("400")
        if self.method in ("POST", "PUT", "PATCH"):
            codes.append("415")
        if view.get_authenticators():
            codes.append("401")
        if not all(isinstance(permission, AllowAny) for permission in view.get_permissions()):
            codes.append("403")
        if "{" in self.path or (self._is_list_view() and self._get_paginator()):
            codes.append("404")
        # The classes, not instances: a throttle reads its rate from the database when built.
        if view.throttle_classes:
            codes.append("429")
        return codes
