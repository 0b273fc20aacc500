"""Channel adapters: one per kind of machine client, each turning that channel's validated payload into
what ``Hotline.start_ticket`` takes, plus the location, the photos and the channel's own reference.

* ``generic``: the platform's own JSON (web, app, mini-program, mayor mailbox ...), already in ticket terms.
* ``grid`` (网格化管理): an event a grid worker (网格员) reports from the grid system, with its grid code,
  the system's event-type code and photos.
* ``city_management`` (数字城管): a case from the digital city-management system, classified as a component
  (部件) or event (事件) case by big and small class codes, located in a 10,000 m² cell (万米单元网格).

Grid and city-management codes are the channel's own. A city maps them to its subject categories (and,
where the class says so, to a request type) in ``rules/<city>/channel_mappings.json``; a rule set that
extends another inherits its file unless it has one. A code the file does not map, or a city without a
file, gives a ticket without a category; the code is kept on the ticket's location as the channel sent it.
The payloads' shapes are validated by the HTTP layer's schemas (``api/channel_schemas.py``) and described
for channel developers in ``docs/channels.md``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from .cities import _city_dir, _lineage
from .clock import to_shanghai
from .dispatch_model import city_categories
from .errors import ValidationFailed

MAPPING_FILE = "channel_mappings.json"
MAPPED_KINDS = ("grid", "city_management")
INTAKE_KINDS = ("generic", *MAPPED_KINDS)
# A grid or city-management report asks a unit to put right what an inspector found (求助: 5 working days
# in Nantong); a class that is a violation to act on (举报) or a nuisance (投诉) says so in the mapping.
DEFAULT_REQUEST_TYPE = "help"
ENTRY_KEYS = {"name", "category", "request_type"}
MAX_TITLE = 300


class MappingError(ValueError):
    """A city's channel_mappings.json is malformed (a deployment error, caught by the rules tests)."""


@dataclass
class Upload:
    """A photo or file as received: ``field`` names where it came from, for error details."""
    field: str
    filename: str | None
    data: bytes


@dataclass
class MappedIntake:
    ticket: dict                                  # the start_ticket payload
    location: dict | None                         # TicketLocation columns, or None
    uploads: list[Upload]
    reference: str | None                         # the channel's own number (event_no, case_no ...)
    external_category: str | None                 # the channel's own classification code
    mapping: dict | None                          # the mapping entry applied: code, category, request_type
    fields: dict = field(default_factory=dict)    # ticket field -> the payload's name, for error details


# -- the mapping file ---------------------------------------------------------------------------------
def validate_mappings(city: str, raw) -> dict[str, dict[str, dict]]:
    """{kind: {code: {name, category, request_type}}}; keys starting with "_" are comments."""
    from .facade import REQUEST_TYPES      # here, not at the top: the facade imports this module's users
    if not isinstance(raw, dict):
        raise MappingError(f"{city}: {MAPPING_FILE} must be an object of kinds")
    categories = {c["code"] for c in city_categories(city)}
    out: dict[str, dict[str, dict]] = {}
    for kind, codes in raw.items():
        if kind.startswith("_"):
            continue
        if kind not in MAPPED_KINDS:
            raise MappingError(f"{city}: {MAPPING_FILE}: unknown kind {kind!r} (one of {list(MAPPED_KINDS)})")
        if not isinstance(codes, dict):
            raise MappingError(f"{city}: {MAPPING_FILE}: {kind} must map codes to entries")
        out[kind] = {}
        for code, entry in codes.items():
            if code.startswith("_"):
                continue
            where = f"{city}: {MAPPING_FILE}: {kind} {code!r}"
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"].strip():
                raise MappingError(f"{where}: needs a name")
            if set(entry) - ENTRY_KEYS:
                raise MappingError(f"{where}: unknown keys {sorted(set(entry) - ENTRY_KEYS)}")
            if entry.get("category") is not None and entry["category"] not in categories:
                raise MappingError(f"{where}: the city has no category {entry['category']!r}")
            if entry.get("request_type") is not None and entry["request_type"] not in REQUEST_TYPES:
                raise MappingError(f"{where}: request_type must be one of {list(REQUEST_TYPES)}")
            out[kind][code] = {"name": entry["name"], "category": entry.get("category"),
                               "request_type": entry.get("request_type")}
    return out


def load_mappings(city: str) -> dict[str, dict[str, dict]]:
    """The effective mapping of a city: the nearest rule set in its lineage that ships the file."""
    raw = None
    for name in _lineage(city):
        path = _city_dir(name) / MAPPING_FILE
        if path.is_file():
            raw = json.loads(path.read_text(encoding="utf-8"))
    return validate_mappings(city, raw) if raw is not None else {}


def _candidates(code: str) -> list[str]:
    """The code, then its parents: codes are hierarchical in two-digit steps ("0505" → "05"), after an
    optional "component:"/"event:" prefix."""
    prefix, _, digits = code.rpartition(":")
    head = f"{prefix}:" if prefix else ""
    out = [code]
    while len(digits) > 2:
        digits = digits[:-2]
        out.append(head + digits)
    return out


def classify(city: str, kind: str, code: str | None) -> dict | None:
    """The mapping entry for a channel's code (the most specific one listed), with the code it matched."""
    if not code:
        return None
    table = load_mappings(city).get(kind, {})
    for candidate in _candidates(code):
        if candidate in table:
            return {"code": candidate, **table[candidate]}
    return None


# -- helpers --------------------------------------------------------------------------------------
def _location_error(field_name: str, zh: str, en: str) -> ValidationFailed:
    return ValidationFailed(details={field_name: [{"code": "invalid_location", "message_zh": zh, "message_en": en}]})


def location_row(lat, lng, grid_code: str | None, external_category: str | None, *, lat_field: str = "lat",
                 lng_field: str = "lng") -> dict | None:
    """TicketLocation columns; latitude and longitude come together and within range, or not at all."""
    if (lat is None) != (lng is None):
        missing = lng_field if lng is None else lat_field
        raise _location_error(missing, "经度和纬度须同时提供", "latitude and longitude come together")
    if lat is not None and not -90 <= lat <= 90:
        raise _location_error(lat_field, "纬度须在-90至90之间", "latitude must be between -90 and 90")
    if lng is not None and not -180 <= lng <= 180:
        raise _location_error(lng_field, "经度须在-180至180之间", "longitude must be between -180 and 180")
    if lat is None and not grid_code and not external_category:
        return None
    return {"latitude": lat, "longitude": lng, "grid_code": grid_code or None, "external_category": external_category}


def _uploads(field_name: str, items) -> list[Upload]:
    return [Upload(f"{field_name}.{i}", item.get("filename"), item["content"]) for i, item in enumerate(items or [])]


def _emergency(payload: dict) -> dict:
    emergency = payload.get("emergency")
    if not emergency:
        return {}
    return {"scope": "emergency", "emergency_agency": emergency.get("agency"), "emergency_reason": emergency.get("reason")}


def _when(value: datetime | None) -> str:
    return f"{to_shanghai(value):%Y-%m-%d %H:%M}" if value else "—"


def _title(explicit: str | None, what: str | None, where: str | None, description: str) -> str:
    """A report's own title, else "<class name>（<place>）", else the start of its description."""
    if explicit:
        return explicit[:MAX_TITLE]
    head = what or description.strip().splitlines()[0][:40]
    return (f"{head}（{where}）" if where else head)[:MAX_TITLE]


def _person(payload: dict, key: str) -> dict:
    person = payload.get(key) or {}
    return {"name": person.get("name"), "phone": person.get("phone")}


# -- the adapters ---------------------------------------------------------------------------------
def adapt_generic(city: str, channel: str, payload: dict) -> MappedIntake:
    location = payload.get("location") or {}
    ticket = {"city": city, "channel": channel, "request_type": payload["request_type"], "title": payload["title"],
              "content": payload["content"], "citizen": _person(payload, "citizen"),
              "address": payload.get("address"), "category": payload.get("category"),
              "received_at": payload.get("received_at"), **_emergency(payload)}
    return MappedIntake(ticket=ticket,
                        location=location_row(location.get("lat"), location.get("lng"), location.get("grid_code"),
                                              None, lat_field="location.lat", lng_field="location.lng"),
                        uploads=_uploads("attachments", payload.get("attachments")),
                        reference=payload.get("reference"), external_category=None, mapping=None,
                        fields={"emergency_agency": "emergency.agency"})


def adapt_grid(city: str, channel: str, payload: dict) -> MappedIntake:
    code = payload.get("event_type_code")
    entry = classify(city, "grid", code)
    type_name = payload.get("event_type_name") or (entry or {}).get("name")
    reporter = payload["reporter"]
    details = [f"网格事件编号：{payload['event_no']}",
               f"网格：{payload.get('grid_name') or ''}（{payload['grid_code']}）",
               f"发现时间：{_when(payload.get('happened_at'))}",
               f"上报网格员：{reporter.get('name') or '—'}{'（' + reporter['id'] + '）' if reporter.get('id') else ''}",
               f"事件类型：{code or '—'} {type_name or ''}".rstrip()]
    return _report_intake(city, channel, payload, entry, code, name=type_name,
                          place=payload.get("address") or payload.get("grid_name"), details=details,
                          cell=payload["grid_code"], reference=payload["event_no"])


def _report_intake(city: str, channel: str, payload: dict, entry: dict | None, code: str | None, *, name, place,
                   details: list[str], cell: str, reference: str) -> MappedIntake:
    """A grid or city-management report as intake: the mapped category and request type, the channel's own
    facts appended to the description, the reporter (or the resident they relay) as the citizen."""
    ticket = {"city": city, "channel": channel,
              "request_type": (entry or {}).get("request_type") or DEFAULT_REQUEST_TYPE,
              "title": _title(payload.get("title"), name, place, payload["description"]),
              "content": payload["description"].rstrip() + "\n\n" + "\n".join(details),
              # the resident concerned when the worker relays one, else the worker who reported it
              "citizen": _person(payload, "citizen") if payload.get("citizen") else _person(payload, "reporter"),
              "address": payload.get("address"), "category": (entry or {}).get("category"),
              "received_at": payload.get("reported_at"), **_emergency(payload)}
    return MappedIntake(ticket=ticket, location=location_row(payload.get("lat"), payload.get("lng"), cell, code),
                        uploads=_uploads("photos", payload.get("photos")), reference=reference,
                        external_category=code, mapping=entry,
                        fields={"received_at": "reported_at", "emergency_agency": "emergency.agency"})


CASE_CLASSES = {"component": "部件", "event": "事件"}


def adapt_city_management(city: str, channel: str, payload: dict) -> MappedIntake:
    code = f"{payload['case_class']}:{payload['big_class']}{payload['small_class']}"
    entry = classify(city, "city_management", code)
    class_name = payload.get("class_name") or (entry or {}).get("name")
    reporter = payload.get("reporter") or {}
    details = [f"数字城管案件号：{payload['case_no']}",
               f"案件类别：{CASE_CLASSES[payload['case_class']]} {payload['big_class']}{payload['small_class']} "
               f"{class_name or ''}".rstrip(),
               f"万米单元网格：{payload['cell_code']}",
               *([f"部件标识码：{payload['component_id']}"] if payload.get("component_id") else []),
               f"发现时间：{_when(payload.get('happened_at'))}",
               f"上报人：{reporter.get('name') or '—'}{'（' + reporter['id'] + '）' if reporter.get('id') else ''}"]
    return _report_intake(city, channel, payload, entry, code, name=class_name, place=payload.get("address"),
                          details=details, cell=payload["cell_code"], reference=payload["case_no"])


ADAPTERS = {"generic": adapt_generic, "grid": adapt_grid, "city_management": adapt_city_management}


def adapt(kind: str, city: str, channel: str, payload: dict) -> MappedIntake:
    return ADAPTERS[kind](city, channel, payload)
