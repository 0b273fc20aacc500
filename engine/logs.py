"""Log output for the web workers and the scheduler processes: text for the dev server, or one JSON object
per line (``HOTLINE_LOG_FORMAT=json``) for a log shipper to index without parsing free text.

Every JSON line has ``time`` (UTC, ISO 8601 with milliseconds), ``level``, ``logger`` and ``message``; the
fields a caller passes in ``extra=`` (``request_id``, ``method``, ``path``, ``status``, ``duration_ms``,
``user``, ...) are added as they are, and an exception comes as ``exception`` (the formatted traceback).
The web side adds the request fields to every record logged during a request (api/request_log.py), so an
engine warning can be traced to the request that caused it. No Flask here: the scheduler uses it too.
"""
from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
TEXT_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
QUIET_LOGGERS = {"apscheduler": "a line per sweep",
                 "alembic.runtime.plugins": "a line per plugin whenever migrations/ is read (GET /readyz)",
                 # SpiffWorkflow logs every task state change at INFO: about 20 lines per command and per fired
                 # timer, which the event log already records (bench: docs/benchmarks.md).
                 "spiff": "a line per task state change"}

# Attributes every LogRecord has; anything else on a record came from ``extra=`` (or a filter) and is kept.
_STANDARD = frozenset(vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines inside values are escaped by JSON)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,          # which gunicorn worker or scheduler process
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


class HotlineHandler(logging.StreamHandler):
    """Marks the one root handler this module owns, so configuring again (the app inside a gunicorn worker,
    the test suite's many apps) replaces it instead of printing every line twice."""


def configure_logging(fmt: str = "text", level: str = "INFO", stream=None) -> logging.Handler:
    """Send the root logger's records to stderr (or ``stream``) as text or JSON lines; returns the handler."""
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {LOG_FORMATS}")
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, HotlineHandler)]:
        root.removeHandler(old)
    handler = HotlineHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler


def gunicorn_log_config(fmt: str, level: str = "INFO") -> dict:
    """A ``logging.config.dictConfig`` for gunicorn (its ``logconfig_dict``): the root logger gets the same
    handler and format as the app's lines, gunicorn's own messages go there, and its access log stays off
    because the app logs every request itself (api/request_log.py)."""
    formatter = {"()": "engine.logs.JsonFormatter"} if fmt == "json" else {"format": TEXT_FORMAT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"hotline": formatter},
        "handlers": {"hotline": {"class": "engine.logs.HotlineHandler", "formatter": "hotline",
                                 "stream": "ext://sys.stderr"}},
        "root": {"level": level, "handlers": ["hotline"]},
        "loggers": {"gunicorn.error": {"level": level, "handlers": [], "propagate": True},
                    "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
                    **{name: {"level": "WARNING"} for name in QUIET_LOGGERS}},
    }
