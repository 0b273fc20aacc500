"""Request ids and one log line per request.

Each request gets an id: the proxy's ``X-Request-Id`` when it is sane (8 to 128 characters of letters,
digits and ``._:=+/-``, so a client cannot inject line breaks or fake fields), a fresh one otherwise. The id
is echoed in the response's ``X-Request-Id`` and set on every record logged while the request runs (engine
warnings included), so one id finds everything a request did in the proxy's and the app's logs.

When the response is done (after the unit of work committed or rolled back, see ``register``), one record
goes to the ``hotline.request`` logger with method, path, status, duration_ms and user. The path is logged
without its query string, which can carry personal data or a channel client's ``api_key``.

``HOTLINE_LOG_FORMAT=json`` turns every line into a JSON object (engine/logs.py); the default ``text``
leaves the dev server's logging alone.
"""
from __future__ import annotations

import logging
import re
import time
import uuid

from flask import g, has_request_context, request

from engine.logs import configure_logging

REQUEST_ID_HEADER = "X-Request-Id"
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:=+/-]{8,128}")

log = logging.getLogger("hotline.request")


def request_id_from(header: str | None) -> str:
    """The proxy's id when it is sane, else a new random one."""
    if header and SANE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


class RequestContextFilter(logging.Filter):
    """Adds the current request's id (and method and path) to every record logged inside a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context() and "request_id" in g and not hasattr(record, "request_id"):
            record.request_id = g.request_id
            record.method = request.method
            record.path = request.path
        return True


def _user() -> str | None:
    principal = g.get("principal")
    return getattr(principal, "username", None)


def start_request() -> None:
    g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    g.request_started = time.perf_counter()


def finish_request(response):
    started = g.get("request_started")
    duration = time.perf_counter() - started if started is not None else 0.0
    response.headers[REQUEST_ID_HEADER] = g.get("request_id") or request_id_from(None)
    log.info("%s %s %s", request.method, request.path, response.status_code,
             extra={"request_id": response.headers[REQUEST_ID_HEADER], "method": request.method,
                    "path": request.path, "status": response.status_code,
                    "duration_ms": round(duration * 1000, 2), "user": _user()})
    return response


def register(app) -> None:
    """Call before context.register: Flask runs after_request hooks in reverse order of registration, so
    ``finish_request`` then runs after the unit of work is committed and the duration includes the commit."""
    settings = app.extensions["hotline_settings"]
    if settings.log_format == "json":
        handler = configure_logging("json", settings.log_level)
        if not any(isinstance(f, RequestContextFilter) for f in handler.filters):
            handler.addFilter(RequestContextFilter())
        app.extensions["hotline_log_handler"] = handler
    app.before_request(start_request)
    app.after_request(finish_request)
