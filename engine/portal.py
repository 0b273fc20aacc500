"""The citizen portal (市民门户): requests from the public without an account, the receipt with its query
code, the progress a citizen may see, and the public list of closed tickets (办件公开).

* A request starts through ``start_ticket`` as the portal's citizen principal, on the city's website
  channel, so it runs the normal lifecycle; its photos go through ``add_attachment`` (images only here).
* The query code is 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L), random, shown once
  and stored only as sha256 (over the ticket id and the code) in ``citizen_receipts``.
* Progress is what a citizen may know: the stages with their times, the unit's name, the deadline and the
  unit's reply. Never internal notes, staff names or other citizens' data: texts pass through
  ``disclosed_text``, which masks everyone's phone and ID numbers and the staff's names, the citizen's own
  name and phone excepted.
* The disclosure list shows closed, answered tickets of a city, all texts masked, and never tickets of a
  scope other than normal (secret/privacy ...), of high sensitivity, emergency hand-offs or merged ones.

Mixed into ``Hotline``; nothing here commits.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from sqlalchemy import exists, func, select

from .accounts import Principal
from .attachments import AttachmentStore, file_problem
from .channel_models import CitizenReceipt
from .cities import LIFECYCLE_PROCESS, effective_channels, effective_units
from .errors import NotFound, field_error
from .models import Deployment, Event, Ticket, User
from .personal_data import disclosed_text, publishable

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"     # no 0/O, 1/I/L: read aloud or copied by hand
CODE_LENGTH = 8
MAX_PHOTOS = 5
# The city's own website/portal channel, in order of preference (every shipped city has "web").
PORTAL_CHANNELS = ("web", "online_station", "app", "mini_program")
DISCLOSED_OUTCOMES = ("archived", "final_reply")
# Internal steps a citizen sees as one public phase.
PUBLIC_PHASES = {"new": "received", "dispatching": "received", "callback": "callback", "closed": "closed"}
NOT_FOUND = ("工单编号或查询码不正确", "The ticket number or query code is wrong")


def citizen_principal(city: str) -> Principal:
    """The portal acts for an anonymous citizen: ``system`` lets it start tickets and add photos,
    ``citizen`` lets it complete its own callback (``Hotline.may_act``); the HTTP layer decides when."""
    return Principal("citizen:portal", frozenset({"system", "citizen"}), None, city)


def new_query_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str | None) -> str:
    """What the citizen typed: case, spaces and the dash shown in the middle do not matter."""
    return re.sub(r"[\s\-]", "", text or "").upper()


def code_digest(ticket_id: int, code: str) -> str:
    # The ticket id salts the hash, so one precomputed table cannot serve every receipt.
    return hashlib.sha256(f"{ticket_id}:{code}".encode()).hexdigest()


def check_photos(photos: list[tuple[str | None, bytes]], max_bytes: int) -> None:
    """Refuse the whole request if one photo is wrong: nothing is stored before all of them pass."""
    if len(photos) > MAX_PHOTOS:
        raise field_error("photos", "too_many", f"最多上传{MAX_PHOTOS}张照片", f"At most {MAX_PHOTOS} photos")
    for name, data in photos:
        label = name or "?"
        problem = file_problem(data, max_bytes, photos_only=True)
        if problem:
            raise field_error("photos", problem["code"], f"照片“{label}”：{problem['message_zh']}",
                              f"Photo {label!r}: {problem['message_en']}")


def citizen_text(text: str | None, ticket: Ticket, staff_names: list[str]) -> str:
    """A text as its own citizen may read it: their name and phone stay, everyone else's data is masked."""
    own = [v for v in (ticket.citizen_phone, ticket.citizen_name) if v and len(v.strip()) > 1]
    out = text or ""
    for i, value in enumerate(own):
        out = out.replace(value, f"\x00{i}\x00")
    out = disclosed_text(out, [n for n in staff_names if n not in own])
    for i, value in enumerate(own):
        out = out.replace(f"\x00{i}\x00", value)
    return out


def staff_names(session, ticket_ids: list[int]) -> dict[int, list[str]]:
    """ticket -> the names of the staff who acted on it (masked wherever they appear in a public text)."""
    if not ticket_ids:
        return {}
    rows = session.execute(select(Event.ticket_id, User.display_name, User.username).distinct()
                           .join(User, User.username == Event.actor).where(Event.ticket_id.in_(ticket_ids)))
    out: dict[int, list[str]] = {}
    for ticket_id, display, username in rows:
        out.setdefault(ticket_id, []).extend(n for n in (display, username) if n)
    return out


class PortalCommands:
    def portal_channel(self, city: str) -> str | None:
        codes = {c["code"] for c in effective_channels(self.session, city)}
        return next((c for c in PORTAL_CHANNELS if c in codes), None)

    def portal_cities(self) -> list[str]:
        """The cities a citizen can write to: an active deployment and a website channel."""
        active = self.session.scalars(select(Deployment.city).where(Deployment.active.is_(True)).distinct())
        return sorted(c for c in active if self.portal_channel(c))

    def submit_citizen_request(self, actor: Principal, payload: dict, photos: list[tuple[str | None, bytes]],
                               store: AttachmentStore) -> tuple[Ticket, str]:
        """A citizen's request as a ticket with its photos; returns the ticket and its query code (once)."""
        self._require(actor, "citizen")
        channel = self.portal_channel(payload["city"]) if payload["city"] in self.portal_cities() else None
        if channel is None:
            raise field_error("city", "no_portal", "该城市未开通网上受理", "This city takes no requests online")
        check_photos(photos, store.max_bytes)
        ticket = self.start_ticket(actor, {**payload, "channel": channel, "scope": "normal", "sensitivity": "normal"})
        added = []
        try:
            for name, data in photos:
                added.append(self.add_attachment(actor, ticket.id, name, data, store))
        except Exception:
            for attachment in added:       # the transaction rolls back: no file may stay behind
                store.delete(attachment.storage_key)
            raise
        code = new_query_code()
        self.session.add(CitizenReceipt(ticket_id=ticket.id, code_hash=code_digest(ticket.id, code),
                                        created_at=self.clock.now()))
        self.session.flush()
        return ticket, code

    def find_receipt(self, actor: Principal, number: str | None, code: str | None) -> Ticket:
        """The ticket behind a number and its query code. A wrong code and an unknown number give the
        same answer after the same work, so neither can be probed."""
        self._require(actor, "citizen")
        row = self.session.execute(select(Ticket, CitizenReceipt.code_hash)
                                   .join(CitizenReceipt, CitizenReceipt.ticket_id == Ticket.id)
                                   .where(Ticket.number == (number or "").strip().upper())).first()
        expected = row.code_hash if row else "0" * 64
        given = code_digest(row.Ticket.id if row else 0, normalise_code(code))
        if not hmac.compare_digest(expected, given) or row is None:
            raise NotFound(*NOT_FOUND)
        return row.Ticket

    def tracked_ticket(self, actor: Principal, ticket_id: int) -> Ticket:
        """A ticket the citizen already proved (code in the session, or a signed rating link)."""
        self._require(actor, "citizen")
        ticket = self.session.get(Ticket, ticket_id)
        if ticket is None or ticket.process != LIFECYCLE_PROCESS:
            raise NotFound(*NOT_FOUND)
        return ticket

    def citizen_progress(self, ticket: Ticket) -> dict:
        """What the citizen sees of their ticket: stages, deadline, the reply (masked as ``citizen_text``)."""
        events = list(self.session.scalars(select(Event).where(Event.ticket_id == ticket.id).order_by(Event.seq)))
        units = {u["code"]: u["name"] for u in effective_units(self.session, ticket.city, include_inactive=True)}
        names = staff_names(self.session, [ticket.id]).get(ticket.id, [])
        text = lambda value: citizen_text(value, ticket, names)  # noqa: E731
        stages, replies = [{"stage": "received", "at": ticket.received_at}], []
        for e in events:
            data, form = e.data or {}, (e.data or {}).get("form") or {}
            if e.type == "task_completed" and e.task_name == "dispatch" and form.get("unit"):
                stages.append({"stage": "dispatched", "at": e.at, "unit": units.get(form["unit"], form["unit"])})
            elif e.type == "task_completed" and e.task_name == "sign" and form.get("decision") != "return":
                stages.append({"stage": "signed", "at": e.at, "unit": units.get(data.get("unit"), data.get("unit"))})
            elif e.type in ("reply_recorded", "master_reply_received") and data.get("reply"):
                unit = units.get(data.get("unit"), data.get("unit"))
                stages.append({"stage": "replied", "at": e.at, "unit": unit})
                replies.append({"at": e.at, "unit": unit, "text": text(data["reply"])})
            elif e.type == "ticket_merged":
                stages.append({"stage": "merged", "at": e.at})
            elif e.type == "citizen_rated":
                stages.append({"stage": "rated", "at": e.at, "rating": data.get("rating")})
            elif e.type == "task_completed" and e.task_name in ("callback", "callback_merged"):
                stages.append({"stage": "callback", "at": e.at})
            elif e.type == "ticket_created" and (data.get("start_data") or {}).get("direct_answer"):
                replies.append({"at": e.at, "unit": None, "text": text(data["start_data"]["direct_answer"])})
        if ticket.closed_at:
            stages.append({"stage": "closed", "at": ticket.closed_at, "outcome": ticket.outcome})
        return {"id": ticket.id, "number": ticket.number, "city": ticket.city, "title": text(ticket.title),
                "content": text(ticket.content), "request_type": ticket.request_type,
                "phase": PUBLIC_PHASES.get(ticket.status, "handling"), "outcome": ticket.outcome,
                "outcome_reason": text(ticket.outcome_reason) if ticket.outcome_reason else None,
                "received_at": ticket.received_at, "closed_at": ticket.closed_at,
                "deadline": ticket.handle_due_at if ticket.closed_at is None else None,
                "unit": units.get(ticket.unit_code, ticket.unit_code) if ticket.unit_code else None,
                "stages": stages, "reply": replies[-1] if replies else None}

    # -- public disclosure (办件公开) -----------------------------------------------------------------
    def disclosed_tickets(self, city: str, *, q: str | None = None, page: int = 1,
                          per_page: int = 20) -> tuple[list[dict], int]:
        """Closed, answered tickets of a city, newest first, every text masked; public, so no actor."""
        of_ticket = lambda *conditions: exists().where(Event.ticket_id == Ticket.id, *conditions)  # noqa: E731
        query = select(Ticket).where(
            Ticket.city == city, Ticket.process == LIFECYCLE_PROCESS, Ticket.status == "closed",
            Ticket.outcome.in_(DISCLOSED_OUTCOMES), Ticket.merged_into_id.is_(None),
            of_ticket(Event.type == "reply_recorded"), ~of_ticket(Event.type == "ticket_merged"), publishable())
        words = (q or "").strip()[:50]
        if words:
            # Only the title is searched, and never for numbers that could be a phone or an ID: a match
            # must not reveal what the masked text hides.
            if re.search(r"\d{5,}", words):
                return [], 0
            query = query.where(Ticket.title.like(f"%{words}%"))
        total = self.session.scalar(select(func.count()).select_from(query.subquery()))
        tickets = list(self.session.scalars(query.order_by(Ticket.closed_at.desc(), Ticket.id.desc())
                                            .offset((max(page, 1) - 1) * per_page).limit(per_page)))
        return self._disclosed(city, tickets), total

    def _disclosed(self, city: str, tickets: list[Ticket]) -> list[dict]:
        ids = [t.id for t in tickets]
        replies: dict[int, Event] = {}
        if ids:
            for e in self.session.scalars(select(Event).where(Event.ticket_id.in_(ids), Event.type == "reply_recorded")
                                          .order_by(Event.seq)):
                replies[e.ticket_id] = e          # the last reply counts
        names = staff_names(self.session, ids)
        units = {u["code"]: u["name"] for u in effective_units(self.session, city, include_inactive=True)}
        out = []
        for t in tickets:
            hidden = [t.citizen_name, *names.get(t.id, [])]
            reply = replies.get(t.id)
            unit = (reply.data or {}).get("unit") if reply else t.unit_code
            out.append({"number": t.number, "title": disclosed_text(t.title, hidden), "category": t.category,
                        "request_type": t.request_type, "unit": units.get(unit, unit), "received_at": t.received_at,
                        "replied_at": reply.at if reply else None, "closed_at": t.closed_at, "outcome": t.outcome,
                        "reply": disclosed_text((reply.data or {}).get("reply") if reply else "", hidden)})
        return out
