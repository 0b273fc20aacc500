"""Web security: response headers on every response, Secure cookies, and throttling of the sign-in endpoints.

- Headers: a Content-Security-Policy that allows only our own origin (see ``CSP``), nosniff, no framing, a
  same-origin referrer and opener, no camera/microphone/geolocation, HSTS over HTTPS. A header a route set
  itself (an attachment download's stricter ``default-src 'none'; sandbox``) is kept. Every ``/api/``
  response is ``Cache-Control: no-store``: they carry citizens' personal data.
- Cookies: ``HOTLINE_SECURE_COOKIES=1`` (production, behind TLS) marks every cookie ``Secure``.
- Sign-in throttling: failed sign-ins are counted per (client IP, username); ``HOTLINE_LOGIN_MAX_FAILURES``
  failures within ``HOTLINE_LOGIN_WINDOW_SECONDS`` lock that pair out for the window, doubling with each
  further lockout (at most a day). A successful sign-in clears the count. Independently, each client IP may
  call ``POST /login`` and ``POST /api/v1/auth/token`` ``HOTLINE_PUBLIC_RATE_PER_MINUTE`` times a minute
  (a sliding window). Both answer 429 with ``Retry-After`` and the error code ``too_many_attempts``.

The counters live in this process (no table, no dependency): with N web workers a client gets up to N times
the limit. A reverse proxy's own limit (nginx ``limit_req``) is the production complement. The clock is
``time.monotonic`` unless a test sets ``app.extensions["hotline_security"].clock``.
"""
from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque

from flask import g, make_response, render_template, request
from werkzeug.middleware.proxy_fix import ProxyFix

from engine.errors import TooManyAttempts

from .errors import error_response, language
from .i18n import STRINGS, current_language

# bpmn-js, dmn-js and ECharts write style="" attributes into the markup they generate, htmx adds its
# indicator <style>, and hot_issues.html has a <style> block: styles need 'unsafe-inline'. Scripts do not:
# every page loads its code from /static, and <script type="application/json"> data blocks are never run.
# The bpmn/dmn icon fonts are embedded as data: URLs; diagrams export as data:/blob: images.
CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000"
API_PREFIXES = ("/api/", "/open311/")
# The unauthenticated endpoints that check a password, and where their username comes from.
SIGN_IN_ENDPOINTS = {"pages.login": "form", "api_v1.issue_token": "json"}
MAX_LOCKOUT_SECONDS = 24 * 3600
MAX_KEYS = 50_000          # bounds the memory a flood of made-up usernames or addresses can take


class FailureThrottle:
    """Failed attempts per key in a sliding window; reaching the maximum locks the key out for the window,
    twice as long at each further lockout. A key left alone for a window after its last failure or
    lockout is forgotten, lockout count included. ``now`` is passed in (seconds, monotonic)."""

    def __init__(self, max_failures: int, window: float, *, max_keys: int = MAX_KEYS):
        self.max_failures, self.window, self.max_keys = max_failures, window, max_keys
        self._entries: OrderedDict = OrderedDict()     # key -> [failure times, lockouts, locked until, last]
        self._lock = threading.Lock()

    def retry_after(self, key, now: float) -> float:
        """Seconds until the key may try again; 0 when it may now."""
        with self._lock:
            entry = self._entries.get(key)
            return max(0.0, entry[2] - now) if entry else 0.0

    def failed(self, key, now: float) -> None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or self._expired(entry, now):
                entry = [deque(), 0, 0.0, now]
            failures = entry[0]
            while failures and failures[0] <= now - self.window:
                failures.popleft()
            failures.append(now)
            entry[3] = now
            if len(failures) >= self.max_failures:
                entry[1] += 1
                entry[2] = now + min(self.window * 2 ** (entry[1] - 1), MAX_LOCKOUT_SECONDS)
                failures.clear()
            self._entries[key] = entry
            self._entries.move_to_end(key)
            self._bound(now)

    def succeeded(self, key) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def _expired(self, entry, now: float) -> bool:
        return now - max(entry[2], entry[3]) >= self.window

    def _bound(self, now: float) -> None:
        if len(self._entries) <= self.max_keys:
            return
        for key in [k for k, e in self._entries.items() if self._expired(e, now)]:
            del self._entries[key]
        while len(self._entries) > self.max_keys:
            self._entries.popitem(last=False)        # the least recently failed


class RateLimit:
    """At most ``limit`` hits per key in any ``period`` seconds (a sliding log of the last ``limit`` hits).
    A refused hit is not recorded. ``limit`` 0 means no limit."""

    def __init__(self, limit: int, period: float = 60.0, *, max_keys: int = MAX_KEYS):
        self.limit, self.period, self.max_keys = limit, period, max_keys
        self._hits: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key, now: float) -> float:
        """Record a hit; return 0, or the seconds to wait when the hit is refused."""
        if not self.limit:
            return 0.0
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                hits = self._hits[key] = deque(maxlen=self.limit)
            if len(hits) == self.limit and now - hits[0] < self.period:
                return hits[0] + self.period - now
            hits.append(now)
            self._hits.move_to_end(key)
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
            return 0.0


class Security:
    """The app's limiters and the settings the headers depend on (``app.extensions["hotline_security"]``)."""

    def __init__(self, settings, clock=time.monotonic):
        self.settings = settings
        self.clock = clock
        self.sign_in_failures = FailureThrottle(settings.login_max_failures, settings.login_window_seconds)
        self.public = RateLimit(settings.public_rate_per_minute, 60.0)

    def before_request(self):
        if request.method != "POST" or request.endpoint not in SIGN_IN_ENDPOINTS:
            return None
        ip, now = request.remote_addr or "-", self.clock()
        wait = self.public.hit(ip, now)
        if wait:
            raise _too_many("too_many_requests", wait, "rate_limit")
        key = (ip, _username(SIGN_IN_ENDPOINTS[request.endpoint]))
        wait = self.sign_in_failures.retry_after(key, now)
        if wait:
            raise _too_many("too_many_logins", wait, "sign_in_failures")
        g.sign_in_key = key
        return None

    def after_request(self, response):
        key = g.pop("sign_in_key", None)
        if key is not None:
            if response.status_code == 401:          # wrong password and unknown user alike
                self.sign_in_failures.failed(key, self.clock())
            elif response.status_code < 400:
                self.sign_in_failures.succeeded(key)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.is_secure or self.settings.secure_cookies:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if request.path.startswith(API_PREFIXES) and "no-store" not in response.headers.get("Cache-Control", ""):
            response.headers["Cache-Control"] = "no-store"
        if self.settings.secure_cookies:
            _secure_cookies(response)
        return response


def _username(source: str) -> str:
    if source == "json":
        body = request.get_json(silent=True)
        value = body.get("username") if isinstance(body, dict) else None
    else:
        value = request.form.get("username")
    return value[:200] if isinstance(value, str) else ""


def _wait_text(seconds: int, lang: int) -> str:
    if seconds >= 60:
        return STRINGS["wait_minutes"][lang].format(n=math.ceil(seconds / 60))
    return STRINGS["wait_seconds"][lang].format(n=seconds)


def _too_many(key: str, wait: float, reason: str) -> TooManyAttempts:
    seconds = max(1, math.ceil(wait))
    zh, en = (STRINGS[key][i].format(wait=_wait_text(seconds, i)) for i in (0, 1))
    return TooManyAttempts(zh, en, retry_after=seconds, details={"reason": reason})


def too_many_attempts(error: TooManyAttempts):
    """429 with Retry-After: the JSON error shape on the API, the sign-in form again on the page."""
    if request.path.startswith(API_PREFIXES):
        response = error_response(error.code, error.message(language()), 429, error.details)
    elif request.endpoint == "pages.login":
        response = make_response(render_template("login.html", error=error.message(current_language())), 429)
    else:
        response = make_response(render_template("error.html", message=error.message(current_language())), 429)
    response.headers["Retry-After"] = str(error.retry_after)
    return response


def _secure_cookies(response) -> None:
    cookies = response.headers.getlist("Set-Cookie")
    secured = [c if "secure" in {a.strip().lower() for a in c.split(";")[1:]} else c + "; Secure" for c in cookies]
    if secured != cookies:
        response.headers.remove("Set-Cookie")
        for cookie in secured:
            response.headers.add("Set-Cookie", cookie)


def register(app) -> None:
    settings = app.extensions["hotline_settings"]
    app.config.update(SESSION_COOKIE_SECURE=settings.secure_cookies)   # HttpOnly, SameSite=Lax: app.py
    if settings.proxy_hops:
        # Behind N trusted reverse proxies: the client address and scheme from X-Forwarded-For/-Proto.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops)
    security = app.extensions["hotline_security"] = Security(settings)
    app.before_request(security.before_request)
    app.after_request(security.after_request)
    app.register_error_handler(TooManyAttempts, too_many_attempts)
