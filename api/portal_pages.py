"""The citizen portal (市民门户, /portal/): public pages without an account, for phones first.

* ``/portal/submit``: a request with up to 5 photos; the receipt shows the ticket number and the query code.
* ``/portal/track``: number + query code → the progress page (``/portal/track/<number>``). A proved ticket
  is kept in the session (its id) so the citizen can reload; a wrong code and an unknown number answer alike,
  and wrong codes are throttled per client address like sign-ins. The receipt (number and code) stays in the
  session until the next submission, so a reload of the receipt page shows it again.
* Rating the reply on the progress page, or through the SMS link ``/portal/rate/<token>`` (signed, 7 days).
* ``/portal/disclosed``: the public list of closed tickets (办件公开), every text masked.

Submissions are limited per client address (``PortalGuard``; counters per process, like api/security.py).
"""
from __future__ import annotations

import math
import time

from flask import (Blueprint, current_app, flash, g, make_response, redirect, render_template, request,
                   session as cookie, url_for)
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError, fields, validate

from engine.attachments import AttachmentStore
from engine.cities import load_city
from engine.citizen_rating import CITIZEN_TASKS, MAX_COMMENT, RATINGS, read_rating_token
from engine.errors import DomainError, NotFound, TooManyAttempts, ValidationFailed
from engine.facade import REQUEST_TYPES
from engine.portal import CODE_LENGTH, MAX_PHOTOS, citizen_principal

from .context import clock, hotline, page_principal, session, settings
from .errors import localize_schema_messages, status_for
from .i18n import EVENT_NAMES, STRINGS, current_language, t
from .portal_strings import PORTAL_EVENT_NAMES, PORTAL_STRINGS
from .schemas import Strict
from .security import FailureThrottle, RateLimit

bp = Blueprint("portal", __name__, url_prefix="/portal")
SUBMISSIONS_PER_HOUR = 20          # per client address; many citizens share one carrier-grade NAT address
TRACKED_KEPT = 10                  # tickets a browser session keeps as proved
PER_PAGE = 20
FORM_FIELDS = ("city", "request_type", "title", "content", "name", "phone", "address")
REQUEST_OVERHEAD = 256 * 1024      # the form's text fields and multipart framing besides the photos

assert all(STRINGS.get(k, v) == v for k, v in PORTAL_STRINGS.items()), "portal strings must not shadow the app's"
STRINGS.update(PORTAL_STRINGS)     # templates use the app's own t() and event_name() helpers
EVENT_NAMES.update({k: v for k, v in PORTAL_EVENT_NAMES.items() if k not in EVENT_NAMES})


class PortalRequest(Strict):
    city = fields.String(required=True, validate=validate.Length(1, 40))
    request_type = fields.String(required=True, validate=validate.OneOf(REQUEST_TYPES))
    title = fields.String(required=True, validate=validate.Length(2, 100))
    content = fields.String(required=True, validate=validate.Length(5, 4000))
    name = fields.String(required=True, validate=validate.Length(1, 50))
    # a mobile number, or a landline with its area code
    phone = fields.String(required=True, validate=validate.Regexp(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$"))
    address = fields.String(load_default=None, validate=validate.Length(max=200))


class PortalGuard:
    """The portal's limiters (``app.extensions["hotline_portal"]``); tests may swap them or the clock."""

    def __init__(self, conf, clock=time.monotonic):
        self.clock = clock
        self.submissions = RateLimit(SUBMISSIONS_PER_HOUR, 3600.0)
        self.wrong_codes = FailureThrottle(conf.login_max_failures, conf.login_window_seconds)


@bp.record_once
def _install(state):
    state.app.extensions["hotline_portal"] = PortalGuard(state.app.extensions["hotline_settings"])


def guard() -> PortalGuard:
    return current_app.extensions["hotline_portal"]


def too_many(seconds: float) -> TooManyAttempts:
    wait = max(1, math.ceil(seconds))
    zh, en = (STRINGS["portal_too_many"][i].format(minutes=math.ceil(wait / 60)) for i in (0, 1))
    return TooManyAttempts(zh, en, retry_after=wait, details={"reason": "rate_limit"})


def photo_limit() -> int:
    """Each photo's limit: the attachment limit, or less so that five of them fit in one request."""
    conf = settings()
    return max(0, min(conf.max_attachment_bytes, (conf.max_upload_bytes - REQUEST_OVERHEAD) // MAX_PHOTOS))


def chosen_city(cities: list[str]) -> str:
    wanted = request.values.get("city")
    if wanted in cities:
        return wanted
    return "nantong" if "nantong" in cities else cities[0]     # the demo city, else the first one


def city_choices(cities: list[str]) -> list[tuple[str, str]]:
    return [(c, load_city(c).name) for c in cities]


def remember(ticket_id: int) -> None:
    """The browser session keeps the tickets it proved (ids only), the latest first."""
    kept = [i for i in cookie.get("portal_tickets", []) if i != ticket_id]
    cookie["portal_tickets"] = [ticket_id, *kept][:TRACKED_KEPT]


@bp.before_request
def _anonymous():
    # Public pages: never the signed-in staff member's identity (a clerk may also be a citizen).
    g.principal = None


@bp.errorhandler(DomainError)
def _refused(error: DomainError):
    response = make_response(render_template("portal/error.html", message=error.message(current_language())),
                             status_for(error))
    if isinstance(error, TooManyAttempts):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


@bp.errorhandler(CSRFError)
def _expired_form(_error):
    return render_template("portal/error.html", message=t("portal_form_expired")), 400


@bp.errorhandler(413)
def _too_large(_error):
    return render_template("portal/error.html", message=t("portal_upload_too_large")), 413


@bp.app_template_global("citizen_ratings")
def citizen_ratings_for(ticket_id: int) -> list:
    """For the callback task form (staff): the citizen's own ratings of the ticket's replies."""
    actor = g.get("principal") or page_principal()
    return hotline().citizen_ratings(actor, ticket_id) if actor is not None else []


@bp.app_template_global("citizen_task")
def citizen_task(name: str) -> bool:
    return name in CITIZEN_TASKS


@bp.get("/")
def index():
    cities = hotline().portal_cities()
    return render_template("portal/index.html", city=chosen_city(cities) if cities else None)


@bp.route("/submit", methods=["GET", "POST"])
def submit():
    facade = hotline()
    cities = facade.portal_cities()
    if not cities:
        raise NotFound("暂未开通网上受理", "No city takes requests online yet")
    values, errors, status = {"city": chosen_city(cities)}, {}, 200
    if request.method == "POST":
        wait = guard().submissions.hit(request.remote_addr or "-", guard().clock())
        if wait:
            raise too_many(wait)
        values = {k: request.form.get(k, "").strip() for k in FORM_FIELDS}
        photos = [(f.filename, f.read()) for f in request.files.getlist("photos") if f and f.filename]
        try:
            data = PortalRequest().load({k: v for k, v in values.items() if v})
            payload = {"city": data["city"], "request_type": data["request_type"], "title": data["title"],
                       "content": data["content"], "address": data["address"],
                       "citizen": {"name": data["name"], "phone": data["phone"]}}
            ticket, code = facade.submit_citizen_request(citizen_principal(data["city"]), payload, photos,
                                                         AttachmentStore(settings().attachment_dir, photo_limit()))
        except ValidationError as exc:
            errors, status = localize_schema_messages(exc.messages), 422
        except ValidationFailed as exc:
            session().rollback()          # nothing of the refused request is kept
            errors, status = exc.details or {}, 422
        else:
            cookie["portal_receipt"] = {"number": ticket.number, "code": code}
            remember(ticket.id)
            return redirect(url_for("portal.receipt"))
    return render_template("portal/submit.html", values=values, errors=errors, cities=city_choices(cities),
                           request_types=REQUEST_TYPES, max_photos=MAX_PHOTOS, photo_limit=photo_limit(),
                           photos_refused=bool(errors) and bool(request.files.getlist("photos"))), status


@bp.get("/receipt")
def receipt():
    """The number and query code of the request this browser just sent (kept so a reload shows it again)."""
    sent = cookie.get("portal_receipt")
    if not sent:
        return redirect(url_for("portal.track"))
    code = sent["code"]
    return render_template("portal/receipt.html", number=sent["number"],
                           code=f"{code[:CODE_LENGTH // 2]}-{code[CODE_LENGTH // 2:]}")


@bp.route("/track", methods=["GET", "POST"])
def track():
    number = (request.values.get("number") or "").strip()
    if request.method == "GET":
        return render_template("portal/track.html", number=number)
    limiter, address, now = guard().wrong_codes, request.remote_addr or "-", guard().clock()
    wait = limiter.retry_after(address, now)
    if wait:
        raise too_many(wait)
    try:
        ticket = hotline().find_receipt(citizen_principal(""), number, request.form.get("code"))
    except NotFound as exc:
        limiter.failed(address, now)
        return render_template("portal/track.html", number=number, error=exc.message(current_language())), 404
    remember(ticket.id)
    return redirect(url_for("portal.progress", number=ticket.number))


def _proved(number: str):
    """The ticket of this number if this browser proved it; None otherwise."""
    facade = hotline()
    for ticket_id in cookie.get("portal_tickets", []):
        try:
            ticket = facade.tracked_ticket(citizen_principal(""), int(ticket_id))
        except (NotFound, TypeError, ValueError):
            continue
        if ticket.number == number:
            return ticket
    return None


def _progress_page(ticket, *, action: str, link_round: int | None = None, error: str | None = None,
                   values: dict | None = None, status: int = 200):
    facade = hotline()
    state = facade.rating_state(ticket)
    may_rate = state["open"] and (link_round is None or link_round == state["round"])
    return render_template("portal/progress.html", p=facade.citizen_progress(ticket), state=state,
                           may_rate=may_rate, action=action, ratings=RATINGS, max_comment=MAX_COMMENT,
                           error=error, values=values or {}, stale_link=link_round is not None and not may_rate
                           and state["rating"] is None), status


def _rate(ticket, *, via: str, action: str, link_round: int | None = None):
    values = {"rating": request.form.get("rating", ""), "comment": request.form.get("comment", "")}
    try:
        _, completed = hotline().rate_reply(citizen_principal(ticket.city), ticket.id, values["rating"],
                                            values["comment"], via=via, round_=link_round)
    except DomainError as exc:
        session().rollback()
        return _progress_page(ticket, action=action, link_round=link_round, values=values,
                              error=_messages(exc), status=status_for(exc))
    flash(t("portal_rated_closed") if completed else t("portal_rated"))
    return redirect(action)


def _messages(exc: DomainError) -> str:
    key = "message_en" if current_language() == "en" else "message_zh"
    details = exc.details if isinstance(exc.details, dict) else {}
    found = [m[key] for ms in details.values() if isinstance(ms, list) for m in ms if isinstance(m, dict)]
    return " ".join(found) or exc.message(current_language())


@bp.get("/track/<number>")
def progress(number):
    ticket = _proved(number)
    if ticket is None:
        return redirect(url_for("portal.track", number=number))
    return _progress_page(ticket, action=url_for("portal.rate_tracked", number=number))


@bp.post("/track/<number>/rating")
def rate_tracked(number):
    ticket = _proved(number)
    if ticket is None:
        return redirect(url_for("portal.track", number=number))
    return _rate(ticket, via="portal", action=url_for("portal.progress", number=number))


@bp.route("/rate/<token>", methods=["GET", "POST"])
def rate_link(token):
    """The SMS link: the same progress and rating form, without the query code."""
    limiter, address, now = guard().wrong_codes, request.remote_addr or "-", guard().clock()
    wait = limiter.retry_after(address, now)
    if wait:
        raise too_many(wait)
    try:
        ticket_id, round_ = read_rating_token(settings().secret_key, clock(), token)
    except NotFound as exc:
        if (exc.details or {}).get("reason") == "invalid":
            limiter.failed(address, now)     # a forged link counts like a wrong code
        raise
    ticket = hotline().tracked_ticket(citizen_principal(""), ticket_id)
    if request.method == "POST":
        return _rate(ticket, via="sms", action=request.path, link_round=round_)
    return _progress_page(ticket, action=request.path, link_round=round_)


@bp.get("/disclosed")
def disclosed():
    cities = hotline().portal_cities()
    if not cities:
        raise NotFound("暂无公开办件", "Nothing is published yet")
    city, q = chosen_city(cities), (request.args.get("q") or "").strip()
    page = max(1, request.args.get("page", 1, type=int))
    items, total = hotline().disclosed_tickets(city, q=q or None, page=page, per_page=PER_PAGE)
    return render_template("portal/disclosed.html", items=items, total=total, page=page, q=q, city=city,
                           cities=city_choices(cities), pages=max(1, math.ceil(total / PER_PAGE)))
