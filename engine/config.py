"""Configuration from environment variables, validated once at start-up."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from .errors import ValidationFailed

ROOT = Path(__file__).resolve().parent.parent
OUTBOUND_CHANNELS = ("logging", "email", "sms")
INSTANCE_DIR = Path(os.environ.get("HOTLINE_INSTANCE_DIR", ROOT / "instance"))


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    test_clock: bool
    scheduler_interval: float
    scheduler_batch: int
    max_upload_bytes: int
    default_language: str
    # Notifications: the outbound channel (logging | email | sms) and its endpoints.
    outbound: str = "logging"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_from: str = "12345-hotline@localhost"
    sms_url: str | None = None
    # Attachments: where the bytes are kept (outside the web root) and the largest file accepted.
    attachment_dir: str = str(INSTANCE_DIR / "attachments")
    max_attachment_bytes: int = 5 * 1024 * 1024
    # Upstream webhooks (engine/webhooks.py): failed attempts before a delivery is dead (dead-letter list).
    webhook_max_attempts: int = 8
    # Web security (api/security.py): Secure cookies + HSTS when served over HTTPS; how many reverse
    # proxies in front are trusted for X-Forwarded-For/-Proto; sign-in throttling and the per-IP limit of
    # the unauthenticated endpoints (0 = off). The counters are per process.
    secure_cookies: bool = False
    proxy_hops: int = 0
    login_max_failures: int = 5
    login_window_seconds: int = 900
    public_rate_per_minute: int = 120
    # External sign-in (OIDC through a reverse proxy such as oauth2-proxy or Keycloak's gatekeeper): the
    # header naming the signed-in user, trusted only with the proxy's shared secret (api/context.py).
    sso_user_header: str | None = None
    sso_proxy_secret: str | None = None
    # A read replica (PostgreSQL streaming standby) the heavy read-only pages use: reports, KPIs, scores, the
    # cockpit and the insights (engine/replica.py). Unset: everything reads the primary.
    report_database_url: str | None = None
    # The citizen portal's public address (HOTLINE_PUBLIC_BASE_URL), for the rating links sent by SMS.
    public_base_url: str | None = None
    # Production mode (docs/deployment.md): log lines as text or JSON; the bearer token GET /metrics asks for
    # (open when unset); the scheduler process's own metrics port (off when unset); prometheus_client's
    # directory shared by the gunicorn workers; gunicorn's workers, bind address and worker timeout.
    log_format: str = "text"
    log_level: str = "INFO"
    metrics_token: str | None = None
    scheduler_metrics_port: int | None = None
    prometheus_multiproc_dir: str | None = None
    web_workers: int = 2
    web_bind: str = "127.0.0.1:8000"
    web_timeout: int = 120

    @classmethod
    def from_env(cls, env=None) -> "Settings":
        env = os.environ if env is None else env
        problems = []
        url = env.get("HOTLINE_DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'hotline.sqlite'}"
        if not url.startswith(("sqlite", "postgresql")):
            problems.append("HOTLINE_DATABASE_URL must be a sqlite:// or postgresql:// URL")
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")

        def number(name, default, kind=float):
            try:
                value = kind(env.get(name, default))
            except ValueError:
                problems.append(f"{name} must be a number")
                return kind(default)
            if value <= 0:
                problems.append(f"{name} must be positive")
            return value

        def count(name, default):
            """A whole number that may be 0 (0 turns the feature off)."""
            try:
                value = int(env.get(name, default))
            except ValueError:
                problems.append(f"{name} must be a whole number")
                return int(default)
            if value < 0:
                problems.append(f"{name} must not be negative")
            return value

        def flag(name, default="0"):
            value = env.get(name, default).strip().lower()
            if value not in ("0", "1", "true", "false", "yes", "no", "on", "off"):
                problems.append(f"{name} must be 1 or 0")
            return value in ("1", "true", "yes", "on")

        language = env.get("HOTLINE_LANGUAGE", "zh")
        if language not in ("zh", "en"):
            problems.append("HOTLINE_LANGUAGE must be zh or en")
        outbound = env.get("HOTLINE_OUTBOUND", "logging")
        if outbound not in OUTBOUND_CHANNELS:
            problems.append("HOTLINE_OUTBOUND must be one of " + "|".join(OUTBOUND_CHANNELS))
        sms_url = env.get("HOTLINE_SMS_URL") or None
        if sms_url and not sms_url.startswith(("http://", "https://")):
            problems.append("HOTLINE_SMS_URL must be an http:// or https:// URL")
        if outbound == "sms" and not sms_url:
            problems.append("HOTLINE_OUTBOUND=sms needs HOTLINE_SMS_URL")
        settings = cls(
            database_url=url,
            secret_key=env.get("HOTLINE_SECRET_KEY") or _instance_secret(),
            test_clock=env.get("HOTLINE_TEST_CLOCK", "0") == "1",
            scheduler_interval=number("HOTLINE_SCHEDULER_INTERVAL", "5"),
            scheduler_batch=number("HOTLINE_SCHEDULER_BATCH", "50", int),
            max_upload_bytes=number("HOTLINE_MAX_UPLOAD_BYTES", str(8 * 1024 * 1024), int),
            default_language=language,
            outbound=outbound,
            smtp_host=env.get("HOTLINE_SMTP_HOST", "localhost"),
            smtp_port=number("HOTLINE_SMTP_PORT", "25", int),
            smtp_from=env.get("HOTLINE_SMTP_FROM", "12345-hotline@localhost"),
            sms_url=sms_url,
            attachment_dir=env.get("HOTLINE_ATTACHMENT_DIR") or str(INSTANCE_DIR / "attachments"),
            max_attachment_bytes=number("HOTLINE_MAX_ATTACHMENT_BYTES", str(5 * 1024 * 1024), int),
            webhook_max_attempts=number("HOTLINE_WEBHOOK_MAX_ATTEMPTS", "8", int),
            secure_cookies=flag("HOTLINE_SECURE_COOKIES"),
            proxy_hops=count("HOTLINE_PROXY_HOPS", "0"),
            login_max_failures=number("HOTLINE_LOGIN_MAX_FAILURES", "5", int),
            login_window_seconds=number("HOTLINE_LOGIN_WINDOW_SECONDS", "900", int),
            public_rate_per_minute=count("HOTLINE_PUBLIC_RATE_PER_MINUTE", "120"),
            sso_user_header=env.get("HOTLINE_SSO_USER_HEADER") or None,
            sso_proxy_secret=env.get("HOTLINE_SSO_PROXY_SECRET") or None,
            public_base_url=_public_base_url(env, problems),
            **_production_settings(env, problems),
            report_database_url=_replica_url(env, problems),
        )
        if settings.sso_user_header and not settings.sso_proxy_secret:
            problems.append("HOTLINE_SSO_USER_HEADER needs HOTLINE_SSO_PROXY_SECRET (the proxy's shared secret)")
        if problems:
            raise ValidationFailed("配置有误：" + "；".join(problems), "Bad configuration: " + "; ".join(problems),
                                   details=problems)
        return settings


def _replica_url(env, problems: list) -> str | None:
    url = env.get("HOTLINE_REPORT_DATABASE_URL") or None
    if url is None:
        return None
    if not url.startswith(("sqlite", "postgresql")):
        problems.append("HOTLINE_REPORT_DATABASE_URL must be a sqlite:// or postgresql:// URL")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _production_settings(env, problems: list) -> dict:
    """Logging, metrics and gunicorn settings (docs/deployment.md); problems are appended, not raised."""
    from .logs import LOG_FORMATS, LOG_LEVELS

    def whole(name, default, low, high=None):
        raw = (env.get(name) or "").strip()
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            problems.append(f"{name} must be a whole number")
            return default
        if value < low or (high is not None and value > high):
            problems.append(f"{name} must be between {low} and {high}" if high else f"{name} must be at least {low}")
        return value

    log_format = (env.get("HOTLINE_LOG_FORMAT") or "text").strip().lower()
    if log_format not in LOG_FORMATS:
        problems.append("HOTLINE_LOG_FORMAT must be " + " or ".join(LOG_FORMATS))
    log_level = (env.get("HOTLINE_LOG_LEVEL") or "INFO").strip().upper()
    if log_level not in LOG_LEVELS:
        problems.append("HOTLINE_LOG_LEVEL must be one of " + "|".join(LOG_LEVELS))
    token = env.get("HOTLINE_METRICS_TOKEN") or None
    if token is not None and len(token) < 16:
        problems.append("HOTLINE_METRICS_TOKEN must be at least 16 characters")
    # prometheus_client reads this variable itself; checked here so a typo fails at start, not at a scrape.
    multiproc = env.get("PROMETHEUS_MULTIPROC_DIR") or None
    if multiproc is not None and not (os.path.isdir(multiproc) and os.access(multiproc, os.W_OK)):
        problems.append("PROMETHEUS_MULTIPROC_DIR must be an existing writable directory")
    bind = (env.get("HOTLINE_WEB_BIND") or "127.0.0.1:8000").strip()
    host, _, port = bind.rpartition(":")
    if not (bind.startswith("unix:") and len(bind) > 5) and not (host and port.isdigit() and 0 < int(port) < 65536):
        problems.append("HOTLINE_WEB_BIND must be host:port or unix:/path")
    return {"log_format": log_format, "log_level": log_level, "metrics_token": token,
            "scheduler_metrics_port": whole("HOTLINE_SCHEDULER_METRICS_PORT", None, 1, 65535),
            "prometheus_multiproc_dir": multiproc, "web_workers": whole("HOTLINE_WEB_WORKERS", 2, 1),
            "web_bind": bind, "web_timeout": whole("HOTLINE_WEB_TIMEOUT", 120, 1)}


def _public_base_url(env, problems: list) -> str | None:
    """Where citizens reach the portal, e.g. https://12345.nantong.gov.cn (a path prefix is kept; no query
    or fragment). Unset: no rating links are sent."""
    from urllib.parse import urlsplit
    raw = (env.get("HOTLINE_PUBLIC_BASE_URL") or "").strip().rstrip("/")
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        problems.append("HOTLINE_PUBLIC_BASE_URL must be an http:// or https:// address without query or fragment")
    return raw


def _instance_secret() -> str:
    """A per-installation secret kept in the instance folder, so the demo needs no set-up."""
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
