"""The Open311 GeoReport v2 façade, engine side: the city's categories as services, and the city's tickets
as public service requests (http://wiki.open311.org/GeoReport_v2).

* Jurisdiction: ``jurisdiction_id`` is a city code with an active deployment. Without it the default is the
  city of the active Open311 clients (the administrator created them for it), else the first city loaded.
* Services: each first-level category (``dispatch_model.city_categories``) is a ``realtime`` service; its
  definition asks for the request type (咨询/求助/建议/投诉/举报) and an optional title.
* Requests are public: anyone may read them, so a request shows what the public may see and nothing
  more. Never the citizen's name, phone or e-mail; the description goes through ``disclosed_text``; the
  address stops at the street number or compound (building, unit and room are left out). A whistle-blowing
  report (举报) and any ticket about discipline inspection (纪检监察) shows its status only: its content
  and place could point to the person who reported.
* POST: ``engine/open311_intake.py``. Mixed into ``Hotline``; nothing here commits.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select

from .channel_models import ChannelClient, TicketLocation
from .cities import LIFECYCLE_PROCESS, effective_units
from .clock import to_shanghai
from .dispatch_model import city_categories
from .errors import NotFound, ValidationFailed
from .models import Deployment, Event, Ticket
from .open311_intake import RECEIVED_EVENT, REQUEST_TYPE_NAMES, REQUEST_TYPES, Open311IntakeCommands
from .personal_data import disclosed_text, publishable_ids

MAX_WINDOW = timedelta(days=90)       # the spec's longest search span, and its default (the last 90 days)
MAX_PAGE_SIZE = 1000                  # the spec's "first 1000 requests"
MAX_REQUEST_IDS = 200
CONFIDENTIAL_TYPES = ("report",)
CONFIDENTIAL_CATEGORIES = ("discipline_inspection",)
# Open311 "group": the first-level categories gathered the way city dashboards show them. A city's own
# category (city.json "categories") may name its group itself.
GROUP_OF = {"urban_construction": "city", "environment": "city", "transport": "city", "land_resources": "city",
            "labour_social_security": "livelihood", "education_culture_sports": "livelihood", "health": "livelihood",
            "civil_affairs": "livelihood", "commerce_tourism": "economy", "rural_agriculture": "economy",
            "economy": "economy", "science_information": "economy", "politics_law": "government",
            "party_government": "government", "discipline_inspection": "government"}
GROUP_NAMES = {"city": ("城市建设与环境", "City and environment"), "livelihood": ("民生保障", "Livelihood"),
               "economy": ("经济与产业", "Economy and industry"), "government": ("政务与法治", "Government and law"),
               "other": ("其他", "Other")}
# What the public is told about each status (status_notes); {unit} is the unit handling it.
STATUS_NOTES = {
    "new": ("已受理，待派发", "Received, to be dispatched"),
    "dispatching": ("已受理，待派发", "Received, to be dispatched"),
    "merged": ("已受理，与相同诉求合并办理", "Received, handled together with the same request"),
    "signing": ("已派发至{unit}", "Dispatched to {unit}"),
    "return_approval": ("已派发至{unit}", "Dispatched to {unit}"),
    "callback": ("{unit}已答复，待回访", "{unit} replied; the follow-up call is pending"),
}
HANDLING_NOTE = ("{unit}办理中", "Being handled by {unit}")
CLOSED_NOTES = {
    "archived": ("已办结", "Closed"), "answered": ("已答复办结", "Answered and closed"),
    "final_reply": ("已办结（最终答复）", "Closed with a final reply"),
    "rejected": ("不予受理", "Not accepted"),
    "emergency_transfer": ("已转应急联动处置", "Handed to the emergency services"),
}
NOTICES = {
    "due": ("承办单位应于{due}前办结", "The unit is to complete it by {due}"),
    "confidential": ("举报类诉求的内容不予公开", "The content of a report is not made public"),
}
# From the building on: 3栋502室, 5号楼2单元301, 12幢, 2层 ... (the public sees the street or compound)
_DWELLING = re.compile(r"[\s,，、]*(?:\d+|[一二三四五六七八九十百]+)\s*(?:号楼|栋|幢|单元|层|楼|室|户).*$")


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


def public_address(address: str | None, names: list[str] = ()) -> str | None:
    """An address as the public may read it: phones and names masked, cut before the building."""
    if not address:
        return None
    return _DWELLING.sub("", disclosed_text(address, names)).strip() or None


def is_confidential(ticket: Ticket) -> bool:
    return ticket.request_type in CONFIDENTIAL_TYPES or ticket.category in CONFIDENTIAL_CATEGORIES


def _service(category: dict, lang: str) -> dict:
    keywords = category.get("keywords") or []
    name = category["name_en"] if lang == "en" and category.get("name_en") else category["name_zh"]
    examples = "、".join(keywords[:6])
    description = (f"Requests about {name.lower()}" + (f", e.g. {examples}" if examples else "")) if lang == "en" \
        else f"{name}方面的诉求" + (f"，如{examples}等" if examples else "")
    group = category.get("group") or GROUP_OF.get(category["code"], "other")
    return {"service_code": category["code"], "service_name": name, "description": description, "metadata": True,
            "type": "realtime", "keywords": ", ".join(keywords),
            "group": _pick(GROUP_NAMES[group], lang) if group in GROUP_NAMES else group}


def service_attributes(lang: str) -> list[dict]:
    """The service definition every category shares: the request type (default 求助) and a title."""
    zh = lang != "en"
    return [
        {"variable": False, "code": "privacy_notice", "datatype": "string", "required": False,
         "datatype_description": None, "order": 1,
         "description": "姓名和电话仅用于办理和回访，不会公开；电子邮箱不予保存。" if zh else
         "Your name and phone are used only to handle the request and call you back, never published; "
         "e-mail addresses are not kept."},
        {"variable": True, "code": "request_type", "datatype": "singlevaluelist", "required": False,
         "datatype_description": "不填则为求助" if zh else "help when left out", "order": 2,
         "description": "诉求类型" if zh else "Request type",
         "values": [{"key": code, "name": _pick(REQUEST_TYPE_NAMES[code], lang)} for code in REQUEST_TYPES]},
        {"variable": True, "code": "title", "datatype": "string", "required": False,
         "datatype_description": "最多100字；不填则取诉求内容的第一行" if zh else
         "up to 100 characters; the first line of the description when left out",
         "order": 3, "description": "标题" if zh else "Title"},
    ]


class Open311Commands(Open311IntakeCommands):
    # -- jurisdictions and services ----------------------------------------------------------------
    def open311_jurisdiction(self, jurisdiction_id: str | None) -> str:
        """The city a call is about (404 for a city that is not deployed here)."""
        rows = self.session.execute(select(Deployment.city, Deployment.active).order_by(Deployment.id)).all()
        active = {city for city, is_active in rows if is_active}
        deployed = [city for city in dict.fromkeys(city for city, _ in rows) if city in active]   # load order
        if jurisdiction_id:
            if jurisdiction_id not in deployed:
                raise NotFound(f"未找到jurisdiction_id：{jurisdiction_id}", f"jurisdiction_id {jurisdiction_id} not found")
            return jurisdiction_id
        with_clients = self.session.scalars(select(ChannelClient.city).where(
            ChannelClient.kind == "open311", ChannelClient.active.is_(True)).order_by(ChannelClient.id))
        for city in [*with_clients, *deployed]:
            if city in deployed:
                return city
        raise NotFound("本平台尚未部署任何城市", "No jurisdiction is deployed here")

    def open311_services(self, city: str, lang: str = "zh") -> list[dict]:
        return [_service(c, lang) for c in city_categories(city)]

    def open311_service_definition(self, city: str, service_code: str, lang: str = "zh") -> dict:
        self._open311_category(city, service_code)
        return {"service_code": service_code, "attributes": service_attributes(lang)}

    @staticmethod
    def _open311_category(city: str, service_code: str) -> dict:
        category = next((c for c in city_categories(city) if c["code"] == service_code), None)
        if category is None:
            raise NotFound(f"未找到service_code：{service_code}", f"service_code {service_code} not found")
        return category

    # -- reading requests ------------------------------------------------------------------------
    def open311_request(self, city: str, service_request_id: str, lang: str = "zh") -> dict:
        ticket = self.session.scalar(select(Ticket).where(Ticket.number == service_request_id, Ticket.city == city,
                                                          Ticket.process == LIFECYCLE_PROCESS))
        if ticket is None:
            raise NotFound(f"未找到service_request_id：{service_request_id}",
                           f"service_request_id {service_request_id} not found")
        return self._open311_public([ticket], lang)[0]

    def open311_search(self, city: str, *, ids: list[str] | None = None, service_codes: list[str] | None = None,
                       start: datetime | None = None, end: datetime | None = None,
                       statuses: list[str] | None = None, page: int = 1, page_size: int = MAX_PAGE_SIZE,
                       lang: str = "zh") -> list[dict]:
        """GET requests: by ids (which overrides every other argument), else within a window of at most 90
        days of requested_datetime (default the last 90), by service codes and open/closed."""
        query = select(Ticket).where(Ticket.city == city, Ticket.process == LIFECYCLE_PROCESS)
        if ids:
            if len(ids) > MAX_REQUEST_IDS:
                raise _invalid("service_request_id", f"一次最多查询{MAX_REQUEST_IDS}个service_request_id",
                               f"at most {MAX_REQUEST_IDS} service_request_id at once")
            query = query.where(Ticket.number.in_(ids))
        else:
            start, end = self._open311_window(start, end)
            query = query.where(Ticket.received_at >= start, Ticket.received_at <= end)
            for code in service_codes or ():
                self._open311_category(city, code)
            if service_codes:
                query = query.where(Ticket.category.in_(service_codes))
            wanted = set(statuses or ())
            if wanted == {"open"}:
                query = query.where(Ticket.status != "closed")
            elif wanted == {"closed"}:
                query = query.where(Ticket.status == "closed")
        query = query.order_by(Ticket.received_at.desc(), Ticket.id.desc())
        tickets = list(self.session.scalars(query.offset((page - 1) * page_size).limit(page_size)))
        return self._open311_public(tickets, lang)

    def _open311_window(self, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
        if start is None and end is None:
            end = self.clock.now()
        if start is None:
            start = end - MAX_WINDOW
        if end is None:
            end = start + MAX_WINDOW
        if start > end:
            raise _invalid("start_date", "start_date不能晚于end_date", "start_date must not be after end_date")
        if end - start > MAX_WINDOW:
            raise _invalid("end_date", "start_date与end_date相距不能超过90天",
                           "start_date and end_date may not span more than 90 days")
        return start, end

    def _open311_public(self, tickets: list[Ticket], lang: str) -> list[dict]:
        """Tickets as public service requests (one query each for locations, Open311 intake data, units)."""
        ids = [t.id for t in tickets]
        locations = {row.ticket_id: row for row in self.session.scalars(
            select(TicketLocation).where(TicketLocation.ticket_id.in_(ids)))} if ids else {}
        received = {tid: data for tid, data in self.session.execute(
            select(Event.ticket_id, Event.data).where(Event.ticket_id.in_(ids), Event.type == RECEIVED_EVENT))} \
            if ids else {}
        units_by_city = {city: {u["code"]: u["name"] for u in effective_units(self.session, city)}
                         for city in {t.city for t in tickets}}
        categories_by_city = {city: {c["code"]: c for c in city_categories(city)} for city in units_by_city}
        published = publishable_ids(self.session, ids)
        return [_public_request(t, locations.get(t.id), received.get(t.id) or {},
                                units_by_city[t.city].get(t.unit_code) or t.unit_code,
                                categories_by_city[t.city].get(t.category), lang, t.id not in published)
                for t in tickets]


def _invalid(field: str, zh: str, en: str) -> ValidationFailed:
    return ValidationFailed(zh, en, details={field: [{"code": "invalid", "message_zh": zh, "message_en": en}]})


def status_notes(ticket: Ticket, unit: str | None, lang: str) -> str:
    unit = unit or ("承办单位" if lang != "en" else "the unit")
    if ticket.status == "closed":
        note = _pick(CLOSED_NOTES.get(ticket.outcome, CLOSED_NOTES["archived"]), lang)
        if ticket.outcome == "rejected" and ticket.outcome_reason:
            note += ("：" if lang != "en" else ": ") + disclosed_text(ticket.outcome_reason, [ticket.citizen_name])
        return note
    return _pick(STATUS_NOTES.get(ticket.status, HANDLING_NOTE), lang).format(unit=unit)


def _public_request(ticket: Ticket, location: TicketLocation | None, received: dict, unit: str | None,
                    category: dict | None, lang: str, withheld: bool = False) -> dict:
    """``withheld``: the disclosure policy keeps the ticket's text unpublished (personal_data.publishable)."""
    closed = ticket.status == "closed"
    hidden = withheld or is_confidential(ticket)
    names = [ticket.citizen_name] if ticket.citizen_name else []
    notice = None
    if hidden:
        notice = _pick(NOTICES["confidential"], lang)
    elif not closed and ticket.handle_due_at is not None:
        notice = _pick(NOTICES["due"], lang).format(due=f"{to_shanghai(ticket.handle_due_at):%Y-%m-%d %H:%M}")
    service_name = None
    if category is not None:
        service_name = category["name_en"] if lang == "en" and category.get("name_en") else category["name_zh"]
    return {
        "service_request_id": ticket.number, "status": "closed" if closed else "open",
        "status_notes": status_notes(ticket, unit, lang), "service_name": service_name,
        "service_code": ticket.category, "description": None if hidden else disclosed_text(ticket.content, names),
        "agency_responsible": unit if ticket.unit_code else None, "service_notice": notice,
        "requested_datetime": ticket.received_at,
        "updated_datetime": (ticket.closed_at or ticket.updated_at) if closed else ticket.updated_at,
        "expected_datetime": ticket.handle_due_at,
        "address": None if hidden else public_address(ticket.address, names),
        "address_id": None if hidden else received.get("address_id"), "zipcode": None,
        "lat": None if hidden or location is None else location.latitude,
        "long": None if hidden or location is None else location.longitude,
        "media_url": None if hidden else received.get("media_url"),
    }
