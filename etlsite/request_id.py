"""Give every request an id, echo it in X-Request-ID, and stamp log records with it."""

import logging
import re
import uuid
from contextvars import ContextVar

HEADER = "X-Request-ID"
_ACCEPTED = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_current_request_id: ContextVar[str] = ContextVar("request_id", default="-")


def current_request_id() -> str:
    """The id of the request being served by this thread/task, or "-"."""
    return _current_request_id.get()


class RequestIDMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # A client-chosen id is kept only if it is short and plain, so it is
        # safe to echo in headers and logs.
        offered = request.headers.get(HEADER, "")
        request_id = offered if _ACCEPTED.match(offered) else uuid.uuid4().hex
        request.request_id = request_id
        # Not reset on the way out: Django logs 4xx/5xx responses after the
        # middleware chain returns, and those lines need the id too. The next
        # request on this thread sets its own.
        _current_request_id.set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


class RequestIDLogFilter(logging.Filter):
    def filter(self, record):
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


def install_log_record_factory() -> None:
    """Stamp every log record with the request id, whatever handler emits it."""
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        record.request_id = current_request_id()
        return record

    logging.setLogRecordFactory(factory)
