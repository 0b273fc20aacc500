"""Production settings from the environment (engine/config.py): logging, metrics and gunicorn, validated at
start with every problem named."""
from __future__ import annotations

import pytest

from engine.config import Settings
from engine.errors import ValidationFailed

BASE = {"HOTLINE_SECRET_KEY": "x", "HOTLINE_DATABASE_URL": "sqlite:///:memory:"}


def test_the_defaults_suit_the_dev_server():
    settings = Settings.from_env(BASE)
    assert (settings.log_format, settings.log_level, settings.metrics_token) == ("text", "INFO", None)
    assert settings.scheduler_metrics_port is None and settings.prometheus_multiproc_dir is None
    assert (settings.web_workers, settings.web_bind, settings.web_timeout) == (2, "127.0.0.1:8000", 120)


def test_production_values_are_read(tmp_path):
    settings = Settings.from_env({**BASE, "HOTLINE_LOG_FORMAT": "JSON", "HOTLINE_LOG_LEVEL": "warning",
                                  "HOTLINE_METRICS_TOKEN": "a-long-enough-token", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
                                  "HOTLINE_SCHEDULER_METRICS_PORT": "9201", "HOTLINE_WEB_WORKERS": "8",
                                  "HOTLINE_WEB_BIND": "0.0.0.0:8080", "HOTLINE_WEB_TIMEOUT": "300"})
    assert (settings.log_format, settings.log_level) == ("json", "WARNING")
    assert settings.metrics_token == "a-long-enough-token" and settings.prometheus_multiproc_dir == str(tmp_path)
    assert (settings.scheduler_metrics_port, settings.web_workers, settings.web_bind, settings.web_timeout) == \
        (9201, 8, "0.0.0.0:8080", 300)
    assert Settings.from_env({**BASE, "HOTLINE_WEB_BIND": "unix:/run/hotline/web.sock"}).web_bind == \
        "unix:/run/hotline/web.sock"


@pytest.mark.parametrize("variable, value, problem", [
    ("HOTLINE_LOG_FORMAT", "xml", "HOTLINE_LOG_FORMAT must be text or json"),
    ("HOTLINE_LOG_LEVEL", "chatty", "HOTLINE_LOG_LEVEL must be one of"),
    ("HOTLINE_METRICS_TOKEN", "short", "HOTLINE_METRICS_TOKEN must be at least 16 characters"),
    ("HOTLINE_SCHEDULER_METRICS_PORT", "ninety", "HOTLINE_SCHEDULER_METRICS_PORT must be a whole number"),
    ("HOTLINE_SCHEDULER_METRICS_PORT", "70000", "HOTLINE_SCHEDULER_METRICS_PORT must be between 1 and 65535"),
    ("HOTLINE_WEB_WORKERS", "0", "HOTLINE_WEB_WORKERS must be at least 1"),
    ("HOTLINE_WEB_TIMEOUT", "1.5", "HOTLINE_WEB_TIMEOUT must be a whole number"),
    ("HOTLINE_WEB_BIND", "8000", "HOTLINE_WEB_BIND must be host:port or unix:/path"),
    ("HOTLINE_WEB_BIND", "host:99999", "HOTLINE_WEB_BIND must be host:port or unix:/path"),
    ("PROMETHEUS_MULTIPROC_DIR", "/nonexistent/metrics", "PROMETHEUS_MULTIPROC_DIR must be an existing writable"),
])
def test_a_bad_value_stops_the_start_naming_the_variable(variable, value, problem):
    with pytest.raises(ValidationFailed) as refused:
        Settings.from_env({**BASE, variable: value})
    assert any(p.startswith(problem) for p in refused.value.details), refused.value.details


def test_every_problem_is_reported_at_once():
    with pytest.raises(ValidationFailed) as refused:
        Settings.from_env({**BASE, "HOTLINE_LOG_FORMAT": "xml", "HOTLINE_WEB_WORKERS": "none",
                           "HOTLINE_OUTBOUND": "pigeon"})
    named = " ".join(refused.value.details)
    assert "HOTLINE_LOG_FORMAT" in named and "HOTLINE_WEB_WORKERS" in named and "HOTLINE_OUTBOUND" in named
