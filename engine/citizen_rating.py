"""The citizen's own rating of a reply (市民自评): on the portal, or through a signed link sent by SMS.

* One rating per reply round (``citizen_ratings``, unique per ticket and round). The round is how often the
  ticket was re-handled so far, i.e. how many callbacks it has completed: every completed callback that did
  not close the ticket sent it back to the unit (``start_rehandle``, ``mark_supervision``).
* Each rating is a ``citizen_rated`` event on the ticket's log, under the ticket's lock. Satisfied or
  basically satisfied completes the open callback task as the citizen (``Hotline.complete_task``), so the
  ticket closes by the city's callback policy. Dissatisfied only records the rating: the callback staff
  verify whether the unit is at fault (南通 第十一条) and see the rating on their task form. A callback a
  staff member has claimed is theirs to complete; the rating is recorded for them.
* The SMS link carries a token signed with the app's secret (itsdangerous), valid 7 days on the engine
  clock. The scheduler sends it once per callback task (``rating_sms_sent``), in working hours only.
"""
from __future__ import annotations

import logging
import re
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import exists, func, select

from .accounts import Principal
from .channel_models import CitizenRating
from .cities import calendar_for
from .errors import Conflict, InvalidState, NotFound, field_error
from .models import Event, TaskRow, Ticket
from .notifications import deliver_after
from .personal_data import disclosed_text
from .runtime import append_event

log = logging.getLogger("hotline.citizen_rating")
RATINGS = ("satisfied", "basically_satisfied", "dissatisfied")
SATISFIED = ("satisfied", "basically_satisfied")
RATING_WORDS = {"satisfied": "满意", "basically_satisfied": "基本满意", "dissatisfied": "不满意"}
CITIZEN_TASKS = ("callback", "callback_merged")     # the callback forms a citizen may answer themselves
MAX_COMMENT = 500
RATED, SMS_SENT, SMS_SKIPPED = "citizen_rated", "rating_sms_sent", "rating_sms_skipped"
TOKEN_SALT = "citizen-rating-link"
TOKEN_LIFETIME = timedelta(days=7)
RATE_PATH = "/portal/rate/"          # the page the SMS link opens (api/portal_pages.py)
_MOBILE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")


def mobile_number(phone: str | None) -> str | None:
    """The citizen's mobile number if they gave one (a landline cannot receive the link)."""
    match = _MOBILE.match(re.sub(r"[\s\-()]", "", phone or ""))
    return match.group(1) if match else None


def _serializer(secret: str, clock) -> URLSafeTimedSerializer:
    class EngineClockSigner(TimestampSigner):
        # Signed and checked on the engine clock, so the test clock and replayed time apply to links too.
        def get_timestamp(self) -> int:
            return int(clock.now().timestamp())
    return URLSafeTimedSerializer(secret, salt=TOKEN_SALT, signer=EngineClockSigner)


def rating_token(secret: str, clock, ticket_id: int, round_: int) -> str:
    return _serializer(secret, clock).dumps({"t": ticket_id, "r": round_})


def read_rating_token(secret: str, clock, token: str) -> tuple[int, int]:
    """(ticket id, round) of a valid link; NotFound with ``details.reason`` expired or invalid."""
    try:
        data = _serializer(secret, clock).loads(token, max_age=int(TOKEN_LIFETIME.total_seconds()))
    except SignatureExpired:
        raise NotFound("评价链接已过期（7天内有效），请用工单编号和查询码查询",
                       "The rating link has expired (valid 7 days); look the ticket up with its number and code",
                       details={"reason": "expired"}) from None
    except BadSignature:
        raise NotFound("评价链接无效", "The rating link is not valid", details={"reason": "invalid"}) from None
    if not (isinstance(data, dict) and isinstance(data.get("t"), int) and isinstance(data.get("r"), int)):
        raise NotFound("评价链接无效", "The rating link is not valid", details={"reason": "invalid"})
    return data["t"], data["r"]


def rating_round(session, ticket_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Event).where(
        Event.ticket_id == ticket_id, Event.type == "task_completed", Event.task_name.in_(CITIZEN_TASKS)))


def open_citizen_task(session, ticket_id: int) -> TaskRow | None:
    return session.scalar(select(TaskRow).where(TaskRow.ticket_id == ticket_id, TaskRow.name.in_(CITIZEN_TASKS),
                                                TaskRow.state == "ready")
                          .execution_options(populate_existing=True))


def rating_of(session, ticket_id: int, round_: int) -> CitizenRating | None:
    return session.scalar(select(CitizenRating).where(CitizenRating.ticket_id == ticket_id,
                                                      CitizenRating.round == round_))


class CitizenRatingCommands:
    def rating_state(self, ticket: Ticket) -> dict:
        """Whether the citizen may rate now, and their rating of the current round if any."""
        round_ = rating_round(self.session, ticket.id)
        rating = rating_of(self.session, ticket.id, round_)
        task = open_citizen_task(self.session, ticket.id)
        return {"round": round_, "rating": rating, "open": task is not None and rating is None}

    def rate_reply(self, actor: Principal, ticket_id: int, rating: str, comment: str | None, *, via: str,
                   round_: int | None = None) -> tuple[CitizenRating, bool]:
        """Record the citizen's rating; returns it and whether it completed the callback task.
        ``round_`` is the round a rating link was issued for: a link of an earlier reply rates nothing."""
        self._require(actor, "citizen")
        if rating not in RATINGS:
            raise field_error("rating", "not_an_option", "请选择满意、基本满意或不满意",
                              "Choose satisfied, basically satisfied or dissatisfied")
        comment = (comment or "").strip() or None
        if comment and len(comment) > MAX_COMMENT:
            raise field_error("comment", "too_long", f"意见不超过{MAX_COMMENT}字", f"At most {MAX_COMMENT} characters")
        ticket = self._lock_ticket(ticket_id)
        task = open_citizen_task(self.session, ticket_id) if ticket else None
        current = rating_round(self.session, ticket_id)
        if task is None or (round_ is not None and round_ != current):
            raise InvalidState("该答复现在不能评价（回访已结束或不在回访环节）",
                               "This reply cannot be rated now (the callback is over or not yet due)")
        if rating_of(self.session, ticket_id, current) is not None:
            raise Conflict("您已评价过本次答复", "You have already rated this reply")
        now = self.clock.now()
        row = CitizenRating(ticket_id=ticket_id, round=current, rating=rating, comment=comment, via=via,
                            created_at=now)
        self.session.add(row)
        self.session.flush()
        # The comment stays in citizen_ratings: the log and the workflow never hold citizens' own words.
        append_event(self.session, ticket_id, RATED, actor=actor.username, at=now, deployment_id=ticket.deployment_id,
                     task_name=task.name, data={"rating_id": row.id, "round": current, "rating": rating, "via": via,
                                                "task_id": task.id})
        if rating not in SATISFIED or task.assignee:
            return row, False
        note = f"市民自评：{RATING_WORDS[rating]}"
        if comment:
            note += "。" + disclosed_text(comment, [ticket.citizen_name])
        self.complete_task(actor, task.id, {"satisfied": True, "comment": note[:2000]})
        return row, True

    def citizen_ratings(self, actor: Principal, ticket_id: int) -> list[CitizenRating]:
        """A ticket's citizen ratings, for the staff who may see the ticket (the callback form shows them)."""
        self.get_ticket(actor, ticket_id)
        return list(self.session.scalars(select(CitizenRating).where(CitizenRating.ticket_id == ticket_id)
                                         .order_by(CitizenRating.round)))


# -- the SMS with the rating link (a scheduler job) -------------------------------------------------
def due_rating_links(session, limit: int = 50) -> list[tuple[int, str]]:
    """(ticket, task) of open callbacks whose citizen has not been sent (or skipped for) a link yet."""
    marked = exists().where(Event.ticket_id == TaskRow.ticket_id, Event.type.in_((SMS_SENT, SMS_SKIPPED)),
                            Event.data["task_id"].as_string() == TaskRow.id)
    rows = session.execute(select(TaskRow.ticket_id, TaskRow.id).join(Ticket, Ticket.id == TaskRow.ticket_id)
                           .where(TaskRow.name.in_(CITIZEN_TASKS), TaskRow.state == "ready",
                                  Ticket.citizen_phone.is_not(None), ~marked)
                           .order_by(TaskRow.created_at).limit(limit))
    return [(r.ticket_id, r.id) for r in rows]


def send_rating_link(session, clock, ticket_id: int, task_id: str, *, secret: str, base_url: str, send) -> bool:
    """Send one citizen the link to rate the reply; ``send(phone, text)``. Marked on the ticket's log
    before sending, so a failed send rolls the mark back and the next sweep retries."""
    ticket = session.scalar(select(Ticket).where(Ticket.id == ticket_id).with_for_update(skip_locked=True)
                            .execution_options(populate_existing=True))
    task = session.get(TaskRow, task_id, populate_existing=True) if ticket else None
    if task is None or task.state != "ready" or session.scalar(select(exists().where(
            Event.ticket_id == ticket_id, Event.type.in_((SMS_SENT, SMS_SKIPPED)),
            Event.data["task_id"].as_string() == task_id))):
        return False
    now = clock.now()
    if deliver_after(now, False, calendar_for(session, ticket.city)) > now:
        return False                  # no texts to citizens at night or on holidays: the next sweep sends
    round_ = rating_round(session, ticket_id)
    phone = mobile_number(ticket.citizen_phone)
    reason = "no_mobile" if phone is None else "already_rated" if rating_of(session, ticket_id, round_) else None
    mark = {"task_id": task_id, "round": round_, **({"reason": reason} if reason else {})}
    append_event(session, ticket_id, SMS_SKIPPED if reason else SMS_SENT, actor="system", at=now,
                 deployment_id=ticket.deployment_id, task_name=task.name, data=mark)
    if reason:
        return False
    link = base_url.rstrip("/") + RATE_PATH + rating_token(secret, clock, ticket_id, round_)
    send(phone, f"【12345】您反映的问题（工单{ticket.number}）已有答复，请在7日内点击链接评价：{link}")
    return True


def sweep_rating_links(db, clock_for, channel, *, secret: str, base_url: str, batch: int = 50) -> int:
    """The scheduler job: each citizen's link in its own unit of work; returns how many were sent."""
    from .outbound import send_text
    with db.unit_of_work() as session:
        due = due_rating_links(session, batch)
    sent = 0
    for ticket_id, task_id in due:
        try:
            with db.unit_of_work() as session:
                sent += send_rating_link(session, clock_for(session), ticket_id, task_id, secret=secret,
                                         base_url=base_url, send=lambda phone, text: send_text(channel, phone, text))
        except Exception as exc:      # a gateway or database hiccup: nothing was marked, the next sweep retries
            log.warning("rating link for ticket %s not sent: %s", ticket_id, exc)
    return sent
