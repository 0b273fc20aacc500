"""One JSON log line per request with its request id (HOTLINE_LOG_FORMAT=json), the proxy's X-Request-Id
echoed when sane and replaced when not, and the id on every record logged during the request."""
from __future__ import annotations

import io
import json
import logging
import re
from datetime import datetime

import pytest

from api.request_log import request_id_from
from engine.config import Settings
from tests.conftest import ApiClient

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def json_app(database_url, city, tmp_path):
    from app import create_app
    root = logging.getLogger()
    level = root.level
    settings = Settings(database_url=database_url, secret_key="test-secret", test_clock=True,
                        attachment_dir=str(tmp_path / "attachments"), scheduler_interval=1, scheduler_batch=50,
                        max_upload_bytes=8 * 1024 * 1024, default_language="zh", log_format="json")
    application = create_app(settings)
    application.config.update(TESTING=True)
    handler = application.extensions["hotline_log_handler"]
    handler.setStream(io.StringIO())
    yield application
    root.removeHandler(handler)           # later tests' apps must not write into this one's stream
    root.setLevel(level)
    application.extensions["hotline_db"].dispose()


def lines(app) -> list[dict]:
    """Every line written so far; each must be one JSON object."""
    return [json.loads(line) for line in app.extensions["hotline_log_handler"].stream.getvalue().splitlines()]


def request_lines(app) -> list[dict]:
    return [entry for entry in lines(app) if entry["logger"] == "hotline.request"]


def test_each_request_is_one_json_line_with_the_proxys_request_id(json_app):
    response = json_app.test_client().get("/healthz", headers={"X-Request-Id": "proxy-5f2c9a1e-0001"})
    assert response.headers["X-Request-Id"] == "proxy-5f2c9a1e-0001"
    [entry] = request_lines(json_app)
    assert entry["request_id"] == "proxy-5f2c9a1e-0001"
    assert (entry["method"], entry["path"], entry["status"], entry["user"]) == ("GET", "/healthz", 200, None)
    assert entry["level"] == "INFO" and entry["message"] == "GET /healthz 200"
    assert isinstance(entry["duration_ms"], float) and entry["duration_ms"] >= 0
    assert datetime.fromisoformat(entry["time"]).tzinfo is not None and isinstance(entry["pid"], int)


def test_the_signed_in_user_and_the_status_are_logged_and_the_query_string_is_not(json_app):
    client = json_app.test_client()
    operator = ApiClient(client, "operator")
    assert operator.get("/api/v1/tickets?q=13800001111").status_code == 200
    assert operator.get("/api/v1/tickets/999999").status_code == 404
    token, listed, missing = request_lines(json_app)
    assert token["path"] == "/api/v1/auth/token" and token["status"] == 201 and token["user"] is None
    assert listed["path"] == "/api/v1/tickets" and listed["user"] == "operator" and listed["status"] == 200
    assert missing["status"] == 404 and missing["user"] == "operator"
    assert "13800001111" not in json_app.extensions["hotline_log_handler"].stream.getvalue()


@pytest.mark.parametrize("bad", ["short", "has spaces in it", "x" * 129, "<script>alert(1)</script>",
                                 "id\"with,quotes", "汉字汉字汉字汉字"])
def test_an_insane_request_id_is_replaced_by_a_generated_one(json_app, bad):
    response = json_app.test_client().get("/healthz", headers={"X-Request-Id": bad})
    echoed = response.headers["X-Request-Id"]
    assert echoed != bad and GENERATED.fullmatch(echoed)
    assert request_lines(json_app)[0]["request_id"] == echoed


def test_without_a_header_every_request_gets_its_own_id(json_app):
    client = json_app.test_client()
    first, second = (client.get("/healthz").headers["X-Request-Id"] for _ in range(2))
    assert GENERATED.fullmatch(first) and GENERATED.fullmatch(second) and first != second
    assert [e["request_id"] for e in request_lines(json_app)] == [first, second]


def test_records_logged_during_a_request_carry_its_id(json_app, tmp_path):
    # The readiness check logs a warning when the attachment directory cannot be written.
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    json_app.extensions["hotline_settings"] = _with(json_app.extensions["hotline_settings"],
                                                    attachment_dir=str(blocker / "attachments"))
    response = json_app.test_client().get("/readyz", headers={"X-Request-Id": "lb-probe-000042"})
    assert response.status_code == 503
    warning = next(e for e in lines(json_app) if e["logger"] == "hotline.health")
    assert warning["level"] == "WARNING" and warning["request_id"] == "lb-probe-000042"
    assert warning["path"] == "/readyz"
    assert request_lines(json_app)[0]["status"] == 503


def test_text_mode_leaves_logging_alone_but_still_echoes_the_id(app):
    assert "hotline_log_handler" not in app.extensions
    response = app.test_client().get("/healthz", headers={"X-Request-Id": "abcdefgh-1234"})
    assert response.headers["X-Request-Id"] == "abcdefgh-1234"


def test_the_request_id_rule():
    assert request_id_from("0123456789abcdef0123456789abcdef") == "0123456789abcdef0123456789abcdef"
    assert request_id_from("Root=1-5759e988-bd862e3fe1be46a9") == "Root=1-5759e988-bd862e3fe1be46a9"
    assert GENERATED.fullmatch(request_id_from(None)) and GENERATED.fullmatch(request_id_from("a\nb-injected"))


def _with(settings, **changes):
    from dataclasses import replace
    return replace(settings, **changes)
