"""Administrator commands of the facade: users and roles, the working calendar (holiday and make-up-day
overrides per year), and a city's units tree, channels and working hours. Every change is an audited
admin event. Mixed into ``Hotline``."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from . import accounts
from .accounts import ROLES, UNIT_ROLES, Principal
from .calendar import WorkingHours
from .cities import (city_raw, effective_channels, effective_units, list_calendar_overrides, load_city,
                     set_calendar_override)
from .errors import NotFound, field_error
from .models import CalendarOverride, CitySetting, Unit, User
from .rulesets import admin_events, record_admin_event

USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")
CODE = set("abcdefghijklmnopqrstuvwxyz0123456789_")
UNIT_TYPES = ("centre", "district", "department", "street", "company")


class AdminCommands:
    # -- users and roles -----------------------------------------------------------------------------
    def users(self, actor: Principal, city: str | None = None) -> list[User]:
        self._require(actor, "admin")
        query = select(User).order_by(User.username)
        if city:
            query = query.where(User.city == city)
        return list(self.session.scalars(query))

    def save_user(self, actor: Principal, *, username: str, roles: list[str], city: str | None = None,
                  unit_code: str | None = None, display_name: str | None = None, password: str | None = None,
                  active: bool = True, email: str | None = None, phone: str | None = None) -> User:
        """Create a user (a password is required) or change one (the password only when given)."""
        self._require(actor, "admin")
        username = (username or "").strip().lower()
        if not (2 <= len(username) <= 80) or set(username) - USERNAME_CHARS:
            raise field_error("username", "invalid", "用户名为2至80位小写字母、数字或 . _ -",
                           "2-80 lowercase letters, digits or . _ -")
        unknown = [r for r in roles if r not in ROLES]
        if unknown or not roles:
            raise field_error("roles", "unknown_role", f"角色无效：{unknown or '未选择'}", f"invalid roles: {unknown or 'none'}")
        if city:
            load_city(city)
        if unit_code:
            if not city or unit_code not in {u["code"] for u in effective_units(self.session, city)}:
                raise field_error("unit", "unknown_unit", f"城市中没有单位 {unit_code}", f"no unit {unit_code} in that city")
        elif set(roles) & UNIT_ROLES:
            raise field_error("unit", "required", "经办人和单位领导必须指定所属单位", "handlers and leaders need a unit")
        if password is not None and len(password) < 8:
            raise field_error("password", "too_short", "密码至少8位", "at least 8 characters")
        user = self.session.scalar(select(User).where(User.username == username))
        created = user is None
        if created:
            if not password:
                raise field_error("password", "required", "新用户必须设置密码", "a new user needs a password")
            user = accounts.add_user(self.session, username, password, roles, unit_code=unit_code, city=city,
                                     display_name=display_name, email=email, phone=phone)
        else:
            if password:
                user.password_hash = accounts.hash_password(password)
            user.roles, user.unit_code, user.city = list(roles), unit_code, city
            user.display_name = display_name or user.display_name or username
            user.email, user.phone = (email or None) if email is not None else user.email, \
                (phone or None) if phone is not None else user.phone
        user.active = bool(active)
        self.session.flush()
        record_admin_event(self.session, "user_created" if created else "user_changed", actor.username,
                           self.clock.now(), {"username": username, "roles": list(roles), "city": city,
                                              "unit": unit_code, "active": user.active,
                                              "password_changed": bool(password)})
        return user

    # -- working calendar ----------------------------------------------------------------------------
    def calendar_overrides(self, actor: Principal, city: str, year: int | None = None) -> list[CalendarOverride]:
        self._require(actor, "admin", "analyst", "auditor")
        return list_calendar_overrides(self.session, city, year)

    def set_calendar_day(self, actor: Principal, city: str, day: date, is_working: bool,
                         note: str | None = None) -> None:
        """A holiday (not working) or a make-up working day; '*' for every city. New deadlines use it."""
        self._require(actor, "admin")
        set_calendar_override(self.session, city, day, is_working, note)
        record_admin_event(self.session, "calendar_day_set", actor.username, self.clock.now(),
                           {"city": city, "day": day.isoformat(), "is_working": is_working, "note": note})

    def remove_calendar_day(self, actor: Principal, city: str, day: date) -> None:
        self._require(actor, "admin")
        row = self.session.scalar(select(CalendarOverride).where(CalendarOverride.city == city,
                                                                 CalendarOverride.day == day))
        if row is None:
            raise NotFound("没有该日期的调整", "No override for that day")
        self.session.delete(row)
        record_admin_event(self.session, "calendar_day_removed", actor.username, self.clock.now(),
                           {"city": city, "day": day.isoformat()})

    # -- city settings: working hours, channels, units (the rule set's city.json, changed here) ---------------
    def _setting(self, city: str) -> CitySetting:
        load_city(city)
        setting = self.session.get(CitySetting, city)
        if setting is None:
            setting = CitySetting(city=city)
            self.session.add(setting)
        setting.updated_by, setting.updated_at = "", self.clock.now()
        return setting

    def set_working_hours(self, actor: Principal, city: str, periods: list[str]) -> list[str]:
        """Daily working periods, e.g. ["08:30-12:00", "13:30-17:30"]; new deadlines count them at once."""
        self._require(actor, "admin")
        try:
            WorkingHours.parse(periods)
        except (ValueError, TypeError, AttributeError) as exc:
            raise field_error("working_hours", "invalid", f"工作时间有误：{exc}", f"Invalid working hours: {exc}") from exc
        setting = self._setting(city)
        setting.working_hours, setting.updated_by = list(periods), actor.username
        record_admin_event(self.session, "working_hours_set", actor.username, self.clock.now(),
                           {"city": city, "working_hours": list(periods)})
        return list(periods)

    def set_channels(self, actor: Principal, city: str, channels: list[dict]) -> list[dict]:
        self._require(actor, "admin")
        codes = [c.get("code", "") for c in channels]
        if not channels or len(set(codes)) != len(codes) or any(not c or set(c) - CODE for c in codes) \
                or any(not str(c.get("name", "")).strip() for c in channels):
            raise field_error("channels", "invalid", "渠道须有唯一的代码（小写字母、数字、下划线）和名称",
                           "channels need unique codes (lowercase letters, digits, _) and names")
        cleaned = [{"code": c["code"], "name": str(c["name"]).strip()[:100]} for c in channels]
        setting = self._setting(city)
        setting.channels, setting.updated_by = cleaned, actor.username
        record_admin_event(self.session, "channels_set", actor.username, self.clock.now(),
                           {"city": city, "channels": [c["code"] for c in cleaned]})
        return cleaned

    def save_unit(self, actor: Principal, city: str, *, code: str, name: str, type_: str,
                  parent: str | None = None, active: bool = True) -> Unit:
        """Add a unit, or rename, move or retire one; loading the rule set again keeps this change."""
        self._require(actor, "admin")
        load_city(city)
        code = (code or "").strip()
        if not code or set(code) - CODE or len(code) > 60:
            raise field_error("code", "invalid", "单位代码为小写字母、数字和下划线", "lowercase letters, digits and _")
        if not (name or "").strip():
            raise field_error("name", "required", "请填写单位名称", "a unit needs a name")
        if type_ not in UNIT_TYPES:
            raise field_error("type", "not_an_option", f"单位类型须为{list(UNIT_TYPES)}之一", f"one of {list(UNIT_TYPES)}")
        units = {u.code: u for u in self.session.scalars(select(Unit).where(Unit.city == city))}
        if parent and (parent not in units or parent == code):
            raise field_error("parent", "unknown_unit", f"上级单位 {parent} 不存在", f"no parent unit {parent}")
        unit = units.get(code) or Unit(city=city, code=code)
        created = code not in units
        unit.name, unit.type, unit.parent_code, unit.active, unit.source = name.strip()[:200], type_, parent, active, "admin"
        self.session.add(unit)
        self.session.flush()
        record_admin_event(self.session, "unit_added" if created else "unit_changed", actor.username, self.clock.now(),
                           {"city": city, "code": code, "name": unit.name, "parent": parent, "active": active})
        return unit

    def city_overview(self, actor: Principal, city: str) -> dict:
        """Units as a tree, channels and working hours of a city: the rule set's, with the administrator's
        changes."""
        self._require(actor, "admin", "analyst", "auditor", "supervisor")
        settings = load_city(city)
        units = list(self.session.scalars(select(Unit).where(Unit.city == city).order_by(Unit.code)))
        children: dict[str | None, list[Unit]] = {}
        for unit in units:
            children.setdefault(unit.parent_code, []).append(unit)

        def branch(parent):
            return [{"code": u.code, "name": u.name, "type": u.type, "active": u.active, "source": u.source,
                     "children": branch(u.code)} for u in children.get(parent, [])]
        known = {u.code for u in units}
        roots = [u for u in units if u.parent_code is None or u.parent_code not in known]
        setting = self.session.get(CitySetting, city)
        return {"city": city, "name": settings.name,
                "working_hours": (setting.working_hours if setting and setting.working_hours
                                  else city_raw(city)["working_hours"]),
                "channels": effective_channels(self.session, city),
                "units": [{"code": u.code, "name": u.name, "type": u.type, "active": u.active, "source": u.source,
                           "children": branch(u.code)} for u in roots],
                "log": admin_events(self.session, city)[:20]}


