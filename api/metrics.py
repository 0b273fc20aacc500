"""``GET /metrics``: Prometheus text exposition of the web workers' counters and the database gauges.

- ``hotline_http_requests_total`` and ``hotline_http_request_duration_seconds`` by method, endpoint (the
  Flask rule such as ``/api/v1/tasks/<task_id>/complete``, never the raw path: ids would make a series per
  ticket) and status. A request no rule matched counts under ``<unmatched>``.
- ``hotline_task_completion_seconds`` by channel (``api``: POST /api/v1/tasks/<id>/complete, ``form``: the
  task page's form) and outcome (``completed``, ``refused``): the whole request including the commit.
- The database gauges of engine/metrics.py (open tickets by light, due timers and their lag), computed at
  scrape time and cached ``SNAPSHOT_SECONDS``.

With several gunicorn workers every worker has its own counters: set ``PROMETHEUS_MULTIPROC_DIR`` (deploy/
gunicorn.conf.py does, and marks dead workers) and any worker's ``/metrics`` sums all of them. Without it
the process's own registry is served, with the process and Python collectors.

``HOTLINE_METRICS_TOKEN``, when set, must come as ``Authorization: Bearer <token>``; the endpoint is open
otherwise (keep it on the internal network: the reverse proxy should not route it).
"""
from __future__ import annotations

import hmac
import logging
import os
import time

from flask import Blueprint, current_app, g, request
from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.exposition import choose_encoder
from sqlalchemy.exc import SQLAlchemyError

from engine.metrics import SnapshotCache, SnapshotCollector, read_snapshot

from . import schemas as S
from .context import clock, session
from .errors import error_response, language

bp = Blueprint("metrics", __name__)
log = logging.getLogger("hotline.metrics")

SNAPSHOT_SECONDS = 5.0
UNMATCHED = "<unmatched>"
# Task completions run the workflow (DMN, scripts, the event log): they are the slow requests that matter.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
COMPLETION_ENDPOINTS = {"api_v1.complete_task": "api", "pages.task_page": "form"}
# A client may send any method name: anything else is counted as "other", so labels stay bounded.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter("hotline_http_requests", "HTTP requests answered", ["method", "endpoint", "status"])
REQUEST_SECONDS = Histogram("hotline_http_request_duration_seconds", "Time to answer an HTTP request",
                            ["method", "endpoint", "status"], buckets=LATENCY_BUCKETS)
TASK_COMPLETION_SECONDS = Histogram("hotline_task_completion_seconds",
                                    "Time to complete a task (whole request, commit included)",
                                    ["channel", "outcome"], buckets=LATENCY_BUCKETS)


def observe(response):
    """After every request; registered before the unit of work's hook, so it runs after the commit."""
    rule = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    status = str(response.status_code)
    method = request.method if request.method in METHODS else "other"
    started = g.get("request_started")          # set by api/request_log.py before the request
    seconds = time.perf_counter() - started if started is not None else 0.0
    REQUESTS.labels(method, rule, status).inc()
    REQUEST_SECONDS.labels(method, rule, status).observe(seconds)
    channel = COMPLETION_ENDPOINTS.get(request.endpoint)
    # The task page also answers GET (show the form) and POST _action=claim: neither is a completion.
    if channel and request.method == "POST" and request.form.get("_action") != "claim":
        outcome = "completed" if response.status_code < 400 else "refused"
        TASK_COMPLETION_SECONDS.labels(channel, outcome).observe(seconds)
    return response


def _process_collector():
    """All workers' counters in multiprocess mode, else this process's registry."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        return multiprocess.MultiProcessCollector(None)
    return REGISTRY


class _Both:
    """The process metrics and the database gauges as one collector for the encoder."""

    def __init__(self, *collectors):
        self.collectors = collectors

    def collect(self):
        for collector in self.collectors:
            yield from collector.collect()


def _snapshot():
    cache: SnapshotCache = current_app.extensions["hotline_metrics_cache"]
    try:
        return cache.get(lambda: read_snapshot(session(), clock().now()))
    except SQLAlchemyError as exc:        # the process metrics still say something useful
        log.warning("metrics: database gauges unavailable: %s", exc.__class__.__name__)
        session().rollback()
        return None


def _token_refused():
    """None when no token is configured or the right one came; else the 401 (JSON, as on the API: the page
    error handler would answer a path outside /api/ with HTML)."""
    expected = current_app.extensions["hotline_settings"].metrics_token
    if not expected:
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected.encode()):
        return None
    zh, en = "缺少或错误的监控令牌", "Missing or wrong metrics token"
    response = error_response("metrics_token_required", en if language() == "en" else zh, 401)
    response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


@bp.get("/metrics")
def metrics():
    refused = _token_refused()
    if refused is not None:
        return refused
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    body = encoder(_Both(_process_collector(), SnapshotCollector(_snapshot())))
    return body, 200, {"Content-Type": content_type, "Cache-Control": "no-store"}


def register(app) -> None:
    """Call before context.register (like api/request_log.py): the durations then include the commit."""
    app.extensions["hotline_metrics_cache"] = SnapshotCache(SNAPSHOT_SECONDS)
    app.after_request(observe)
    app.register_blueprint(bp)


OPERATIONS = [
    ("get", "/metrics", "Prometheus metrics (text exposition; Authorization: Bearer HOTLINE_METRICS_TOKEN when set)", None, {200: None, 401: S.ErrorOut}, None, False),
]
