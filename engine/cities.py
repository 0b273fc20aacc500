"""City settings (rules/<city>/city.json) and the per-city working calendar."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from .calendar import WorkingCalendar, WorkingHours
from .errors import NotFound
from .models import CalendarOverride, CitySetting, Unit

RULES_DIR = Path(__file__).resolve().parent.parent / "rules"
BPMN_DIR = Path(__file__).resolve().parent.parent / "bpmn"
LIFECYCLE_PROCESS = "ticket_lifecycle"


@dataclass(frozen=True)
class CitySettings:
    code: str
    name: str
    working_hours: WorkingHours
    yellow_at: float
    number_prefix: str
    channels: tuple[dict, ...]
    units: tuple[dict, ...]
    raw: dict = field(repr=False, compare=False, hash=False, default_factory=dict)

    def unit(self, code: str) -> dict | None:
        return next((u for u in self.units if u["code"] == code), None)

    @property
    def channel_codes(self) -> set[str]:
        return {c["code"] for c in self.channels}


def available_cities() -> list[str]:
    return sorted(p.parent.name for p in RULES_DIR.glob("*/city.json"))


def _city_dir(code: str) -> Path:
    path = RULES_DIR / code / "city.json"
    if not code.replace("_", "").isalnum() or not path.is_file():
        raise NotFound(f"城市 {code} 的规则集不存在", f"No rule set for city {code!r}")
    return path.parent


def _lineage(code: str) -> list[str]:
    """The city and the rule sets it extends, parent first (a rule set may extend another)."""
    chain, current = [], code
    while current:
        if current in chain:
            raise ValueError(f"rule set {code!r} extends itself through {chain}")
        chain.append(current)
        current = json.loads((_city_dir(current) / "city.json").read_text(encoding="utf-8")).get("extends")
    return list(reversed(chain))


def city_raw(code: str) -> dict:
    """city.json merged along ``extends``: the child's keys win, lists are replaced wholesale."""
    merged: dict = {}
    for name in _lineage(code):
        raw = json.loads((_city_dir(name) / "city.json").read_text(encoding="utf-8"))
        merged.update({k: v for k, v in raw.items() if k != "extends"})
    merged["extends"] = _lineage(code)[:-1]
    return merged


@lru_cache(maxsize=32)
def load_city(code: str) -> CitySettings:
    raw = city_raw(code)
    return CitySettings(
        code=code,
        name=raw["name"],
        working_hours=WorkingHours.parse(raw["working_hours"]),
        yellow_at=float(raw.get("lights", {}).get("yellow_at", 0.8)),
        number_prefix=raw.get("number_prefix", code[:2].upper()),
        channels=tuple(raw.get("channels", [])),
        units=tuple(raw.get("units", [])),
        raw=raw,
    )


def rule_files(code: str) -> dict[str, bytes]:
    """The DMN tables of a city's rule set as shipped, overlaid on the rule sets it extends."""
    files: dict[str, bytes] = {}
    for name in _lineage(code):
        files.update({p.name: p.read_bytes() for p in sorted(_city_dir(name).glob("*.dmn"))})
    return dict(sorted(files.items()))


def lifecycle_files() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(BPMN_DIR.glob("*.bpmn"))}


def calendar_for(session: Session, city: str) -> WorkingCalendar:
    """The city's calendar with admin overrides ('*' rows apply to every city; a city row wins) and the
    administrator's working hours when set."""
    settings = load_city(city)
    rows = session.scalars(select(CalendarOverride).where(CalendarOverride.city.in_(["*", city]))).all()
    overrides: dict = {}
    for row in sorted(rows, key=lambda r: r.city != "*"):
        overrides[row.day] = row.is_working
    setting = session.get(CitySetting, city)
    hours = WorkingHours.parse(setting.working_hours) if setting and setting.working_hours else settings.working_hours
    return WorkingCalendar(hours, overrides)


def effective_channels(session: Session, city: str) -> list[dict]:
    """The city's intake channels: the administrator's list when set, else the rule set's."""
    setting = session.get(CitySetting, city)
    return list(setting.channels) if setting and setting.channels else list(load_city(city).channels)


def effective_units(session: Session, city: str, *, include_inactive: bool = False) -> list[dict]:
    """The city's units as loaded into the database (rule set plus the administrator's changes)."""
    query = select(Unit).where(Unit.city == city).order_by(Unit.code)
    if not include_inactive:
        query = query.where(Unit.active.is_(True))
    rows = session.scalars(query).all()
    if not rows:                     # a city whose units were never loaded: the rule set's list
        return [dict(u) for u in load_city(city).units]
    return [{"code": u.code, "name": u.name, "type": u.type, "parent": u.parent_code, "active": u.active,
             "source": u.source} for u in rows]


def set_calendar_override(session: Session, city: str, day, is_working: bool, note: str | None = None) -> None:
    """Admin entry of a holiday (False) or make-up working day (True); '*' means every city."""
    if city != "*":
        load_city(city)
    row = session.scalar(select(CalendarOverride).where(CalendarOverride.city == city, CalendarOverride.day == day))
    if row is None:
        row = CalendarOverride(city=city, day=day)
        session.add(row)
    row.is_working, row.note = is_working, note


def list_calendar_overrides(session: Session, city: str | None = None, year: int | None = None) -> list:
    query = select(CalendarOverride).order_by(CalendarOverride.day)
    if city:
        query = query.where(CalendarOverride.city.in_(["*", city]))
    rows = session.scalars(query).all()
    return [r for r in rows if year is None or r.day.year == year]
