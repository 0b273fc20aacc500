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
        )
        if problems:
            raise ValidationFailed("配置有误：" + "；".join(problems), "Bad configuration: " + "; ".join(problems),
                                   details=problems)
        return settings


def _instance_secret() -> str:
    """A per-installation secret kept in the instance folder, so the demo needs no set-up."""
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
