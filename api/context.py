"""Per-request plumbing: one unit of work per request, the engine clock and the signed-in principal.

The session opens lazily, is committed after a successful response and rolled back otherwise, so
handlers never commit and a failed request leaves nothing behind.
"""
from __future__ import annotations

from functools import wraps

from flask import current_app, g, request, session as cookie_session
from sqlalchemy.orm.exc import StaleDataError

from engine import accounts
from engine.clock import SystemClock
from engine.errors import AuthenticationFailed, Conflict, PermissionDenied
from engine.facade import Hotline
from engine.testclock import engine_clock


def db():
    return current_app.extensions["hotline_db"]


def settings():
    return current_app.extensions["hotline_settings"]


def outbound():
    """The outbound notification channel chosen by HOTLINE_OUTBOUND (tests may swap it)."""
    return current_app.extensions["hotline_outbound"]


def attachment_store():
    from engine.attachments import AttachmentStore
    return AttachmentStore(settings().attachment_dir, settings().max_attachment_bytes)


def session():
    if "db_session" not in g:
        g.db_session = db().sessions()
    return g.db_session


def report_session():
    """The session for the heavy read-only pages: the replica's when HOTLINE_REPORT_DATABASE_URL is set
    (engine/replica.py), else the request's own."""
    replica = current_app.extensions.get("hotline_report_db")
    if replica is None:
        return session()
    if "report_session" not in g:
        g.report_session = replica.sessions()
    return g.report_session


def report_hotline() -> Hotline:
    return Hotline(report_session(), clock())


def clock():
    if "engine_clock" not in g:
        g.engine_clock = engine_clock(session(), settings().test_clock)
    return g.engine_clock


def hotline() -> Hotline:
    return Hotline(session(), clock())


def principal():
    return g.principal


def commit_or_rollback(response):
    s = g.pop("db_session", None)
    if s is None:
        return response
    try:
        if response.status_code < 400:
            s.commit()
        else:
            s.rollback()
    except StaleDataError:
        s.rollback()
        from .errors import domain_error
        response = domain_error(Conflict())
    finally:
        s.close()
    return response


def discard_session(_exc=None):
    for name in ("db_session", "report_session"):
        s = g.pop(name, None)
        if s is not None:
            s.rollback()          # a replica's session never has anything to commit
            s.close()


def require_token(view):
    """API authentication: ``Authorization: Bearer <token>`` from POST /api/v1/auth/token."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed("缺少访问令牌", "Missing bearer token")
        # Token expiry is real time, never the (possibly moved) engine clock.
        g.principal = accounts.principal_for_token(session(), token.strip(), SystemClock().now())
        return view(*args, **kwargs)
    return wrapper


def require_roles(*roles):
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not g.principal.has(*roles):
                raise PermissionDenied()
            return view(*args, **kwargs)
        return wrapper
    return decorate


SSO_SECRET_HEADER = "X-Hotline-Proxy-Secret"


def sso_username() -> str | None:
    """The user an identity-aware proxy (OIDC) signed in, when one is configured: its user header counts
    only together with the shared secret the proxy adds, so a client cannot name itself. The proxy must
    strip both headers from what clients send."""
    import hmac
    conf = settings()
    if not conf.sso_user_header:
        return None
    secret = request.headers.get(SSO_SECRET_HEADER, "")
    if not hmac.compare_digest(secret.encode(), (conf.sso_proxy_secret or "").encode()):
        return None
    return (request.headers.get(conf.sso_user_header) or "").strip() or None


def page_principal():
    """The principal of the browser session (or of the identity-aware proxy), or None. The proxy's user
    must exist here: roles and units are still managed by this platform's administrators."""
    username = cookie_session.get("user") or sso_username()
    if not username:
        return None
    return accounts.principal_for_username(session(), username)


def register(app) -> None:
    app.after_request(commit_or_rollback)
    app.teardown_request(discard_session)
