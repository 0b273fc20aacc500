"""The knowledge base (知识库): entries owned by a unit — a policy, an answer script (答复口径) or a
procedure — with a validity period and a review deadline (the date the unit must have checked it by).

* Management: a unit's handlers and leaders keep their own unit's entries; administrators every entry;
  operators and dispatchers read. Every change is an audited admin event, and raises the entry's
  ``revision``; an edit names the revision it was made on, so a stale edit is refused (Conflict).
* Search at intake: active entries valid on the day are ranked by TF-IDF cosine over character 2–3-grams
  of title + keywords + body, plus a boost for each keyword the request mentions. The fitted vectoriser
  is cached per city and per state of the city's entries, so repeated searches do not refit.
* An operator closes a consultation by answering from an entry (``Hotline.start_ticket`` with
  ``knowledge_entry_id``); the ticket records the entry, its ``ticket_created`` event the revision.
* The review sweep (scheduler) tells the owning unit once when an entry's review deadline has passed.

Mixed into ``Hotline``; nothing here commits.
"""
from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .accounts import Principal
from .ai.text import char_ngrams, normalise
from .cities import RULES_DIR, calendar_for, city_raw, effective_units, load_city
from .clock import SHANGHAI, Clock
from .errors import Conflict, InvalidState, NotFound, PermissionDenied, ValidationFailed
from .models import Event, KnowledgeEntry
from .notifications import notify_knowledge_review
from .rulesets import record_admin_event

KINDS = ("policy", "script", "procedure")
STATUSES = ("active", "retired")
READ_ROLES = ("operator", "dispatcher", "admin", "handler", "leader")
MANAGE_UNIT_ROLES = ("handler", "leader")
MAX_TITLE, MAX_BODY, MAX_KEYWORDS, MAX_KEYWORD = 300, 10000, 30, 40
KEYWORD_BOOST = 0.15        # added to the cosine for each keyword the request mentions (at most three count)
MIN_SCORE = 0.1             # below this, and with no keyword hit, an entry is not a suggestion
REVIEW_EVENT = "knowledge_review_due"
EDITABLE = ("unit", "kind", "title", "body", "keywords", "category", "valid_from", "valid_until", "review_due")


def _msg(code: str, zh: str, en: str) -> dict:
    return {"code": code, "message_zh": zh, "message_en": en}


@lru_cache(maxsize=1)
def _shared_categories() -> tuple[dict, ...]:
    data = json.loads((RULES_DIR / "categories.json").read_text(encoding="utf-8"))
    return tuple({"code": c["code"], "name_zh": c["name_zh"], "name_en": c["name_en"]} for c in data["categories"])


def categories(city: str) -> list[dict]:
    """The city's own first-level categories if its city.json lists them, else the shared ones."""
    own = city_raw(city).get("categories")
    return [{"code": c["code"], "name_zh": c.get("name_zh", c["code"]), "name_en": c.get("name_en", c["code"])}
            for c in own] if own else list(_shared_categories())


def category_codes(city: str) -> set[str]:
    return {c["code"] for c in categories(city)}


def today_of(now: datetime) -> date:
    return now.astimezone(SHANGHAI).date()


def is_valid_on(entry: KnowledgeEntry, on: date) -> bool:
    return (entry.valid_from is None or entry.valid_from <= on) and (entry.valid_until is None or on <= entry.valid_until)


def review_overdue(entry: KnowledgeEntry, on: date) -> bool:
    """Past its review deadline (the unit has not confirmed or updated it in time)."""
    return entry.status == "active" and entry.review_due is not None and entry.review_due < on


def knowledge_dict(entry: KnowledgeEntry, on: date) -> dict:
    """An entry for the schemas and pages, with what depends on the day (overdue review, valid today)."""
    return {**{c: getattr(entry, c) for c in ("id", "city", "kind", "title", "body", "category", "valid_from",
                                              "valid_until", "review_due", "status", "revision", "created_by",
                                              "created_at", "updated_by", "updated_at")},
            "unit": entry.unit_code, "keywords": list(entry.keywords or []),
            "review_overdue": review_overdue(entry, on), "valid_today": is_valid_on(entry, on)}


@dataclass
class KnowledgeHit:
    entry: KnowledgeEntry
    score: float
    matched_keywords: list[str]
    review_overdue: bool


@dataclass
class _Index:
    """A city's active entries fitted once: the vectoriser, the entries' TF-IDF rows and their keywords."""
    vectorizer: object
    matrix: object
    ids: list[int]
    keywords: list[list[str]]


_INDEX: dict[tuple, _Index] = {}
_INDEX_LOCK = threading.Lock()
FITS: Counter = Counter()      # fits per city, so tests (and operators reading logs) can see the cache work


def _entry_document(entry: KnowledgeEntry) -> str:
    """Title and keywords weigh double: they name the matter, the body explains it."""
    keywords = " ".join(entry.keywords or [])
    return "\n".join([entry.title, entry.title, keywords, keywords, entry.body])


def _index_for(session: Session, city: str) -> _Index | None:
    state = session.execute(select(func.max(KnowledgeEntry.updated_at), func.count(), func.sum(KnowledgeEntry.revision),
                                   func.max(KnowledgeEntry.id))
                            .where(KnowledgeEntry.city == city, KnowledgeEntry.status == "active")).one()
    if not state[1]:
        return None
    # The database is part of the key: one process may serve (or test) several.
    key = (str(session.get_bind().url), city, *state)
    with _INDEX_LOCK:
        cached = _INDEX.get(key)
    if cached is not None:
        return cached
    from sklearn.feature_extraction.text import TfidfVectorizer

    entries = list(session.scalars(select(KnowledgeEntry).where(KnowledgeEntry.city == city,
                                                                KnowledgeEntry.status == "active")
                                   .order_by(KnowledgeEntry.id)))
    vectorizer = TfidfVectorizer(analyzer=char_ngrams, sublinear_tf=True)
    try:
        matrix = vectorizer.fit_transform([_entry_document(e) for e in entries])
    except ValueError:          # no n-gram at all (entries of punctuation only)
        return None
    index = _Index(vectorizer, matrix, [e.id for e in entries],
                   [[k for k in (e.keywords or []) if normalise(k)] for e in entries])
    FITS[city] += 1
    with _INDEX_LOCK:
        for old in [k for k in _INDEX if k[:2] == key[:2]]:
            del _INDEX[old]          # only the newest state of a city is kept
        _INDEX[key] = index
    return index


class KnowledgeCommands:
    # -- permissions -----------------------------------------------------------------------------
    @staticmethod
    def may_manage_knowledge(actor: Principal, unit_code: str | None = None) -> bool:
        """Administrators manage every entry; a unit's handlers and leaders their own unit's."""
        if actor.has("admin", "system"):
            return True
        return bool(actor.has(*MANAGE_UNIT_ROLES) and actor.unit_code and
                    (unit_code is None or unit_code == actor.unit_code))

    def _require_manage(self, actor: Principal, unit_code: str | None) -> None:
        if not self.may_manage_knowledge(actor, unit_code):
            raise PermissionDenied("只能维护本单位的知识库条目", "You may only manage your own unit's entries")

    def _require_read(self, actor: Principal) -> None:
        if not actor.has(*READ_ROLES, "system"):
            raise PermissionDenied("无权查看知识库", "You may not read the knowledge base")

    # -- validation ------------------------------------------------------------------------------
    def _clean_knowledge(self, city: str, data: dict) -> dict:
        errors: dict[str, list] = {}
        cleaned = dict(data)
        units = {u["code"] for u in effective_units(self.session, city)}
        if not data.get("unit"):
            errors["unit"] = [_msg("required", "请选择条目所属单位", "an entry belongs to a unit")]
        elif data["unit"] not in units:
            errors["unit"] = [_msg("unknown_unit", f"城市中没有单位 {data['unit']}", f"no unit {data['unit']} in that city")]
        if data.get("kind") not in KINDS:
            errors["kind"] = [_msg("not_an_option", "类型必须是政策、答复口径或办事流程之一",
                                   f"must be one of {list(KINDS)}")]
        for field, label_zh, limit in (("title", "标题", MAX_TITLE), ("body", "正文", MAX_BODY)):
            value = (data.get(field) or "").strip()
            if not value:
                errors[field] = [_msg("required", f"请填写{label_zh}", f"the {field} is required")]
            elif len(value) > limit:
                errors[field] = [_msg("too_long", f"{label_zh}不能超过{limit}字", f"at most {limit} characters")]
            cleaned[field] = value
        keywords = []
        for word in data.get("keywords") or []:
            word = str(word).strip()
            if word and word not in keywords:
                keywords.append(word)
        if len(keywords) > MAX_KEYWORDS or any(len(k) > MAX_KEYWORD for k in keywords):
            errors["keywords"] = [_msg("too_many", f"关键词最多{MAX_KEYWORDS}个，每个不超过{MAX_KEYWORD}字",
                                       f"at most {MAX_KEYWORDS} keywords of at most {MAX_KEYWORD} characters")]
        cleaned["keywords"] = keywords
        cleaned["category"] = data.get("category") or None
        if cleaned["category"] and cleaned["category"] not in category_codes(city):
            errors["category"] = [_msg("not_an_option", f"未知分类：{cleaned['category']}",
                                       f"unknown category {cleaned['category']!r}")]
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end and end < start:
            errors["valid_until"] = [_msg("before_valid_from", "有效期截止日期不能早于起始日期",
                                          "must not be before valid_from")]
        if not data.get("review_due"):
            errors["review_due"] = [_msg("required", "请填写复核更新期限", "the review deadline is required")]
        if errors:
            raise ValidationFailed("知识库条目信息不完整或有误", "The knowledge entry is invalid", details=errors)
        return cleaned

    def _apply(self, entry: KnowledgeEntry, cleaned: dict) -> list[str]:
        changed = []
        for field in EDITABLE:
            column = "unit_code" if field == "unit" else field
            if getattr(entry, column) != cleaned[field]:
                changed.append(field)
                setattr(entry, column, cleaned[field])
        return changed

    def _audit(self, type_: str, actor: Principal, entry: KnowledgeEntry, **extra) -> None:
        record_admin_event(self.session, type_, actor.username, self.clock.now(),
                           {"city": entry.city, "entry_id": entry.id, "unit": entry.unit_code, "kind": entry.kind,
                            "title": entry.title, "revision": entry.revision, **extra})

    # -- commands --------------------------------------------------------------------------------
    def create_knowledge(self, actor: Principal, city: str, data: dict) -> KnowledgeEntry:
        """A new entry (revision 1). A unit user's entry belongs to their unit unless they name it."""
        load_city(city)
        data = {field: data.get(field) for field in EDITABLE}
        if not data["unit"] and not actor.has("admin") and actor.unit_code:
            data["unit"] = actor.unit_code
        self._require_manage(actor, data["unit"])
        cleaned = self._clean_knowledge(city, data)
        now = self.clock.now()
        entry = KnowledgeEntry(city=city, status="active", revision=1, created_by=actor.username, created_at=now,
                               updated_by=actor.username, updated_at=now)
        self._apply(entry, cleaned)
        self.session.add(entry)
        self.session.flush()
        self._audit("knowledge_created", actor, entry)
        return entry

    def update_knowledge(self, actor: Principal, entry_id: int, data: dict, *, revision: int) -> KnowledgeEntry:
        """Change an entry; fields not given keep their value. ``revision`` is the one the change was
        made on: if someone saved in between, the change is refused (Conflict) rather than lost."""
        entry = self._lock_entry(actor, entry_id)
        self._require_manage(actor, entry.unit_code)
        if revision != entry.revision:
            raise Conflict(f"该条目已被{entry.updated_by}修改（现为第{entry.revision}版），请刷新后重试",
                           f"The entry was changed by {entry.updated_by} (now revision {entry.revision}); reload and retry",
                           details={"revision": entry.revision})
        merged = {field: getattr(entry, "unit_code" if field == "unit" else field) for field in EDITABLE}
        merged.update({field: data[field] for field in EDITABLE if field in data})
        self._require_manage(actor, merged["unit"])      # a unit may not hand its entry to another unit
        cleaned = self._clean_knowledge(entry.city, merged)
        status = data.get("status")
        if status is not None and status not in STATUSES:
            raise ValidationFailed(details={"status": [_msg("not_an_option", "状态必须是启用或停用", "active or retired")]})
        changed = self._apply(entry, cleaned)
        if status and status != entry.status:
            entry.status = status
            changed.append("status")
        if not changed:
            return entry
        entry.revision += 1
        entry.updated_by, entry.updated_at = actor.username, self.clock.now()
        self.session.flush()
        self._audit("knowledge_changed", actor, entry, changed=changed)
        return entry

    def retire_knowledge(self, actor: Principal, entry_id: int, *, revision: int | None = None) -> KnowledgeEntry:
        """Stop using an entry for answers; it stays readable, and tickets keep pointing at it."""
        entry = self._lock_entry(actor, entry_id)
        self._require_manage(actor, entry.unit_code)
        if revision is not None and revision != entry.revision:
            raise Conflict(f"该条目已被{entry.updated_by}修改（现为第{entry.revision}版），请刷新后重试",
                           f"The entry was changed by {entry.updated_by} (now revision {entry.revision}); reload and retry",
                           details={"revision": entry.revision})
        if entry.status == "retired":
            raise InvalidState("该条目已停用", "The entry is already retired")
        entry.status, entry.revision = "retired", entry.revision + 1
        entry.updated_by, entry.updated_at = actor.username, self.clock.now()
        self.session.flush()
        self._audit("knowledge_retired", actor, entry)
        return entry

    def get_knowledge(self, actor: Principal, entry_id: int) -> KnowledgeEntry:
        self._require_read(actor)
        entry = self.session.get(KnowledgeEntry, entry_id)
        if entry is None:
            raise NotFound("知识库条目不存在", "Knowledge entry not found")
        return entry

    def list_knowledge(self, actor: Principal, *, city: str | None = None, unit: str | None = None,
                       kind: str | None = None, status: str | None = None, review_overdue: bool | None = None,
                       q: str | None = None, limit: int = 200) -> list[KnowledgeEntry]:
        """Entries by filters; ``review_overdue`` picks active entries past their review deadline, ``q``
        searches title, body and keywords."""
        self._require_read(actor)
        query = select(KnowledgeEntry)
        for column, value in ((KnowledgeEntry.city, city), (KnowledgeEntry.unit_code, unit),
                              (KnowledgeEntry.kind, kind), (KnowledgeEntry.status, status)):
            if value:
                query = query.where(column == value)
        if review_overdue is not None:
            today = today_of(self.clock.now())
            late = ((KnowledgeEntry.status == "active") & KnowledgeEntry.review_due.is_not(None)
                    & (KnowledgeEntry.review_due < today))
            query = query.where(late if review_overdue else ~late)
        rows = list(self.session.scalars(query.order_by(KnowledgeEntry.updated_at.desc(), KnowledgeEntry.id.desc())))
        if q:
            # Keywords are a JSON list (stored escaped): matched here, the same on SQLite and PostgreSQL.
            needle = normalise(q)
            rows = [e for e in rows if needle in normalise(e.title) or needle in normalise(e.body)
                    or any(needle in normalise(k) for k in e.keywords or [])]
        return rows[:limit]

    def search_knowledge(self, actor: Principal, city: str, text: str, *, on: date | None = None,
                         limit: int = 5) -> list[KnowledgeHit]:
        """Active entries valid on ``on`` (today by default), best match first, for a request's text."""
        self._require_read(actor)
        load_city(city)
        on = on or today_of(self.clock.now())
        if not normalise(text):
            return []
        index = _index_for(self.session, city)
        if index is None:
            return []
        scores = (index.matrix @ index.vectorizer.transform([text]).T).toarray().ravel()
        needle = normalise(text)
        ranked = []
        for position, entry_id in enumerate(index.ids):
            matched = [k for k in index.keywords[position] if normalise(k) in needle]
            score = float(scores[position]) + KEYWORD_BOOST * min(len(matched), 3)
            if score >= MIN_SCORE or matched:
                ranked.append((score, entry_id, matched))
        ranked.sort(key=lambda r: (-r[0], r[1]))
        hits = []
        for score, entry_id, matched in ranked:
            entry = self.session.get(KnowledgeEntry, entry_id)
            if entry is None or entry.status != "active" or not is_valid_on(entry, on):
                continue
            hits.append(KnowledgeHit(entry, round(score, 4), matched, review_overdue(entry, on)))
            if len(hits) >= limit:
                break
        return hits

    def answer_entry(self, city: str, entry_id: int, request_type: str, received: datetime
                     ) -> tuple[KnowledgeEntry | None, dict | None]:
        """The entry a consultation is answered from at intake, or the field error why it may not be."""
        entry = self.session.get(KnowledgeEntry, entry_id)
        if entry is None or entry.city != city:
            return None, _msg("unknown_entry", "知识库条目不存在", "no such knowledge entry in this city")
        if request_type != "consult":
            return None, _msg("not_a_consultation", "只有咨询类诉求可以用知识库条目直接答复",
                              "only a consultation can be answered from a knowledge entry")
        if entry.status != "active":
            return None, _msg("entry_retired", "该知识库条目已停用", "the entry is retired")
        if not is_valid_on(entry, today_of(received)):
            return None, _msg("entry_not_valid", "该知识库条目在受理日期不在有效期内",
                              "the entry is not valid on the day the request was received")
        return entry, None

    # -- helpers ---------------------------------------------------------------------------------
    def _lock_entry(self, actor: Principal, entry_id: int) -> KnowledgeEntry:
        """The entry, locked for the change (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE serialises)."""
        entry = self.session.scalar(select(KnowledgeEntry).where(KnowledgeEntry.id == entry_id)
                                    .with_for_update().execution_options(populate_existing=True))
        if entry is None:
            raise NotFound("知识库条目不存在", "Knowledge entry not found")
        return entry


def sweep_knowledge_reviews(session: Session, clock: Clock, limit: int = 100) -> int:
    """Tell each active entry's unit (handlers and leaders) once that its review deadline has passed.

    "Once" is per entry and deadline: the notice is recorded as an admin event, and moving the deadline
    (after a review) arms the next notice. Returns how many entries were announced."""
    now = clock.now()
    today = today_of(now)
    query = (select(KnowledgeEntry).where(KnowledgeEntry.status == "active", KnowledgeEntry.review_due.is_not(None),
                                          KnowledgeEntry.review_due < today)
             .order_by(KnowledgeEntry.review_due, KnowledgeEntry.id))
    if session.get_bind().dialect.name == "postgresql":
        # Two schedulers never announce one entry twice: the second skips what the first holds, and
        # once the first has committed its notice events are visible to the check below.
        query = query.with_for_update(skip_locked=True)
    due = list(session.scalars(query))
    if not due:
        return 0
    # Notices are only ever recorded after a deadline passed, so older events cannot concern these entries.
    since = datetime.combine(min(e.review_due for e in due), time.min, tzinfo=SHANGHAI)
    sent = {(e.data.get("entry_id"), e.data.get("review_due"))
            for e in session.scalars(select(Event).where(Event.ticket_id.is_(None), Event.type == REVIEW_EVENT,
                                                         Event.at >= since))}
    announced = 0
    calendars = {}
    for entry in due:
        if (entry.id, entry.review_due.isoformat()) in sent:
            continue
        if entry.city not in calendars:
            calendars[entry.city] = calendar_for(session, entry.city)
        messages = notify_knowledge_review(session, entry, now, calendars[entry.city])
        record_admin_event(session, REVIEW_EVENT, "system", now,
                           {"city": entry.city, "entry_id": entry.id, "unit": entry.unit_code, "title": entry.title,
                            "review_due": entry.review_due.isoformat(), "revision": entry.revision,
                            "notified": sorted(m.username for m in messages)})
        announced += 1
        if announced >= limit:
            break
    session.flush()
    return announced
