"""Injectable clocks.

Engine code never calls ``datetime.now()`` directly: every command receives a clock so tests,
replays and the test-clock API can move time deterministically.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime:  # aware datetime
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc).astimezone(SHANGHAI)


class FixedClock:
    """A clock that stands still until moved; used by tests and replay."""

    def __init__(self, at: datetime):
        self.set(at)

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("clock time must be timezone-aware")
        self._at = at.astimezone(SHANGHAI)

    def now(self) -> datetime:
        return self._at


class CallbackClock:
    """A clock whose time is read from a callable (e.g. the shared test-clock row in the database)."""

    def __init__(self, read: Callable[[], datetime | None], fallback: Clock | None = None):
        self._read = read
        self._fallback = fallback or SystemClock()

    def now(self) -> datetime:
        value = self._read()
        return value.astimezone(SHANGHAI) if value is not None else self._fallback.now()


def to_shanghai(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    return value.astimezone(SHANGHAI)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in Asia/Shanghai (+08:00), the format of every datetime the platform emits."""
    return None if value is None else to_shanghai(value).isoformat()


def parse_iso(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        # A wall-clock time without offset is read as Beijing time, the only zone the domain uses.
        parsed = parsed.replace(tzinfo=SHANGHAI)
    return parsed.astimezone(SHANGHAI)
