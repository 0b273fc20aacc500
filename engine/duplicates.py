"""Duplicate and related-ticket lookup (AI辨重) at intake and on demand, over each city's recent tickets.

One ``DuplicateIndex`` per (database, city) lives in each process. Before a lookup it catches up with
the tickets committed since (by id, re-reading a short window of recent ids so a transaction that
committed late is not missed) and rebuilds itself when the database was reset under it. Candidates are
re-read from the database, so the answer only names tickets that exist and the caller may see, and
their scores are recomputed exactly: text similarity, the same place, the same citizen, the same
category and closeness in time, each given as a reason.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from .accounts import Principal
from .ai import text as T
from .ai.similarity import DuplicateIndex
from .cities import LIFECYCLE_PROCESS
from .models import Ticket

RETENTION_DAYS = 180      # tickets older than this are not indexed
DEFAULT_WINDOW_DAYS = 30  # a lookup looks this far back unless asked otherwise
RESCAN_IDS = 256          # recent ids re-read at each catch-up (late commits)
WEIGHTS = {"text": 0.7, "place": 0.15, "citizen": 0.1, "category": 0.05}


def ticket_text(title: str | None, content: str | None) -> str:
    return f"{title or ''}\n{content or ''}"


@dataclass
class _CityIndex:
    index: DuplicateIndex = field(default_factory=DuplicateIndex)
    max_id: int = 0
    anchor: tuple[int, datetime] | None = None      # (id, created_at) of the first ticket indexed
    lock: threading.Lock = field(default_factory=threading.Lock)


_INDEXES: dict[tuple[str, str], _CityIndex] = {}
_REGISTRY_LOCK = threading.Lock()


def _key(session: Session, city: str) -> tuple[str, str]:
    return (session.get_bind().url.render_as_string(hide_password=True), city)


def city_index(session: Session, city: str, now: datetime) -> DuplicateIndex:
    """The city's index, caught up with every committed ticket received in the retention window."""
    key = _key(session, city)
    with _REGISTRY_LOCK:
        entry = _INDEXES.setdefault(key, _CityIndex())
    with entry.lock:
        if entry.anchor is not None:
            anchor_created = session.scalar(select(Ticket.created_at).where(Ticket.id == entry.anchor[0]))
            if anchor_created != entry.anchor[1]:        # the database was reset or restored: start again
                entry.index, entry.max_id, entry.anchor = DuplicateIndex(), 0, None
        _catch_up(session, city, entry, now)
        return entry.index


def _catch_up(session: Session, city: str, entry: _CityIndex, now: datetime) -> None:
    since = now - timedelta(days=RETENTION_DAYS)
    query = (select(Ticket.id, Ticket.title, Ticket.content, Ticket.received_at, Ticket.created_at)
             .where(Ticket.city == city, Ticket.process == LIFECYCLE_PROCESS, Ticket.received_at >= since,
                    Ticket.id > max(0, entry.max_id - RESCAN_IDS))
             .order_by(Ticket.id))
    batch = []
    for row in session.execute(query).yield_per(5000):
        if row.id in entry.index:
            continue
        if entry.anchor is None:
            entry.anchor = (row.id, row.created_at)
        batch.append((row.id, ticket_text(row.title, row.content), int(row.received_at.timestamp())))
        entry.max_id = max(entry.max_id, row.id)
        if len(batch) >= 5000:
            entry.index.add_many(batch)
            batch = []
    entry.index.add_many(batch)


def forget_indexes() -> None:
    """Drop every in-process index (tests, and an administrator's data restore)."""
    with _REGISTRY_LOCK:
        _INDEXES.clear()


class DuplicateCommands:
    def similar_tickets(self, actor: Principal, ticket_id: int, *, limit: int = 10,
                        days: int = DEFAULT_WINDOW_DAYS) -> list[dict]:
        """Tickets that may be duplicates of or related to this one, best first, with reasons."""
        ticket = self.get_ticket(actor, ticket_id)
        return self._similar(actor, ticket.city, ticket.title, ticket.content, ticket.address,
                             ticket.citizen_phone, ticket.category, ticket.received_at, limit=limit, days=days,
                             exclude=ticket.id)

    def similar_to_text(self, actor: Principal, city: str, title: str, content: str, *, address: str | None = None,
                        citizen_phone: str | None = None, category: str | None = None, limit: int = 5,
                        days: int = DEFAULT_WINDOW_DAYS) -> list[dict]:
        """The same lookup for a request being taken in (no ticket yet)."""
        self._require(actor, "operator", "dispatcher", "supervisor", "admin")
        return self._similar(actor, city, title, content, address, citizen_phone, category, self.clock.now(),
                             limit=limit, days=days, exclude=None)

    def _similar(self, actor, city, title, content, address, phone, category, at, *, limit, days, exclude):
        index = city_index(self.session, city, self.clock.now())
        query_text = ticket_text(title, content)
        since = int((at - timedelta(days=days)).timestamp())
        until = int((at + timedelta(days=days)).timestamp())
        hits = index.query(query_text, k=max(limit * 4, 20), since=since, until=until, exclude=exclude)
        if not hits:
            return []
        rows = {t.id: t for t in self.session.scalars(select(Ticket).where(Ticket.id.in_([h.doc_id for h in hits])))}
        own_places = set(T.places(f"{address or ''} {title or ''} {content or ''}"))
        results = []
        for hit in hits:
            other = rows.get(hit.doc_id)
            if other is None or other.city != city or not self._can_view(actor, other):
                continue
            results.append(_scored(index, query_text, own_places, phone, category, at, other))
        results.sort(key=lambda r: (-r["score"], -r["id"]))
        return results[:limit]


def _scored(index: DuplicateIndex, query_text: str, own_places: set, phone, category, at, other: Ticket) -> dict:
    text_score = index.similarity(query_text, ticket_text(other.title, other.content))
    reasons = [{"code": "text", "value": round(text_score, 3),
                "message_zh": f"内容相似度 {text_score:.2f}", "message_en": f"text similarity {text_score:.2f}"}]
    shared_places = sorted(own_places & set(T.places(f"{other.address or ''} {other.title} {other.content}")),
                           key=len, reverse=True)
    if shared_places:
        reasons.append({"code": "same_place", "value": shared_places[:3],
                        "message_zh": "地点相同：" + "、".join(shared_places[:3]),
                        "message_en": "same place: " + ", ".join(shared_places[:3])})
    same_citizen = bool(phone) and other.citizen_phone == phone
    if same_citizen:
        reasons.append({"code": "same_citizen", "value": True, "message_zh": "同一诉求人（一人多投）",
                        "message_en": "same citizen (repeated request)"})
    same_category = bool(category) and other.category == category
    if same_category:
        reasons.append({"code": "same_category", "value": category, "message_zh": "分类相同",
                        "message_en": "same category"})
    gap_days = abs((at - other.received_at).total_seconds()) / 86400
    reasons.append({"code": "time_gap", "value": round(gap_days, 1), "message_zh": f"受理时间相差 {gap_days:.1f} 天",
                    "message_en": f"received {gap_days:.1f} days apart"})
    # Text carries most weight; a shared place, the same citizen or category make a related ticket more
    # likely the same matter. The text score is scaled (2x, capped) because long requests about one
    # matter still share only part of their wording.
    score = (WEIGHTS["text"] * min(1.0, 2 * text_score) + WEIGHTS["place"] * bool(shared_places)
             + WEIGHTS["citizen"] * same_citizen + WEIGHTS["category"] * same_category)
    return {"id": other.id, "number": other.number, "title": other.title, "status": other.status,
            "received_at": other.received_at.isoformat(), "unit": other.unit_code,
            "merged_into": other.merged_into_id, "score": round(score, 3), "reasons": reasons}
