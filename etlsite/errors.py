"""One error body for every 4xx/5xx the API returns.

    {"error": {"code": "...", "message": "...", "details": {...}, "request_id": "..."}}

DRF exceptions go through `api_exception_handler`; Django's own 404/500 pages
under /api/ go through `json_page_not_found` / `json_server_error`, so a client
never gets an HTML page or a stack trace.
"""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error

from etlsite.request_id import current_request_id
from etlsite.signals import api_authentication_failed

logger = logging.getLogger("etlsite.api")


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class Conflict(exceptions.APIException):
    """The request is valid but clashes with the current state (409)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"

    def __init__(self, detail=None, code=None, details=None):
        super().__init__(detail, code)
        self.details = details or {}


def error_body(code: str, message: str, details=None) -> dict:
    return {
        "error": {
            "code": code,
            "message": message,
            "details": details or {},
            "request_id": current_request_id(),
        }
    }


def _is_graph_problem(details) -> bool:
    return isinstance(details, dict) and "message" in details and "component" in details


def _first_message(details) -> str:
    """A one-line summary of nested field errors: `field: message`. A list of
    graph problems is summed up whole, so the message names every bad
    component, not only the first."""
    if isinstance(details, list) and len(details) > 1 and all(map(_is_graph_problem, details)):
        return "; ".join(_first_message(problem) for problem in details)
    if isinstance(details, dict):
        if _is_graph_problem(details):
            # A graph problem: {"component", "field", "message"}.
            where = f"component '{details['component']}'"
            if details.get("field"):
                where += f", field '{details['field']}'"
            return f"{where}: {details['message']}"
        for key, value in details.items():
            inner = _first_message(value)
            return inner if key == "non_field_errors" else f"{key}: {inner}"
    if isinstance(details, list) and details:
        return _first_message(details[0])
    return str(details)


def _detail_message(detail) -> str:
    # simplejwt's InvalidToken carries {"detail", "code", "messages"}, not a string.
    if isinstance(detail, dict) and "detail" in detail:
        return str(detail["detail"])
    return str(detail)


def api_exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes "
            "(setting ETL_UPLOAD_MAX_BYTES); send less."
        )
    elif isinstance(exc, SuspiciousOperation):
        # Too many form fields or files, a malformed multipart body...
        exc = exceptions.ParseError(str(exc) or "The request is malformed.")

    if not isinstance(exc, exceptions.APIException):
        logger.exception("Unhandled error in %s", context.get("view").__class__.__name__)
        return Response(
            error_body("server_error", "Internal server error. Quote the request_id when reporting it."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    if isinstance(exc, exceptions.AuthenticationFailed):
        api_authentication_failed.send(__name__, request=context.get("request"), reason=str(exc.detail))

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))

    if isinstance(exc, exceptions.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        body = error_body("invalid", _first_message(details), details)
    else:
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        body = error_body(code, _detail_message(exc.detail), getattr(exc, "details", None))
    return Response(body, status=exc.status_code, headers=headers)


def _is_api(request) -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/o/")


def json_page_not_found(request, exception=None):
    if _is_api(request):
        return JsonResponse(error_body("not_found", f"No route for {request.path}."), status=404)
    return defaults.page_not_found(request, exception)


@csrf_exempt  # it changes nothing; a POST there is a 404 too, not a CSRF refusal
def api_route_not_found(request, *args, **kwargs):
    """The catch-all route under /api/: the same answer as json_page_not_found,
    also with DEBUG on (when Django would not call handler404)."""
    return JsonResponse(error_body("not_found", f"No route for {request.path}."), status=404)


def json_server_error(request):
    if _is_api(request):
        return JsonResponse(
            error_body("server_error", "Internal server error. Quote the request_id when reporting it."),
            status=500,
        )
    return defaults.server_error(request)
