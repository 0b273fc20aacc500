"""Authentication of machine clients (channel adapters, Open311 clients, upstream platforms).

The key comes in the ``X-Api-Key`` header, or as the ``api_key`` parameter Open311 clients send with the
form or the query string. A valid key puts the client in ``g.client`` and its principal in ``g.principal``.
"""
from __future__ import annotations

from functools import wraps

from flask import g, request

from engine import channel_clients
from engine.clock import SystemClock

from .context import session


def presented_key() -> str | None:
    return (request.headers.get("X-Api-Key") or request.form.get("api_key") or request.args.get("api_key")
            or "").strip() or None


def require_client(*kinds: str):
    """A route for clients of these kinds only (``channel_clients.CLIENT_KINDS``)."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            # Key use is stamped with real time, never the (possibly moved) engine clock.
            client = channel_clients.authenticate(session(), presented_key(), SystemClock().now(), kinds)
            g.client, g.principal = client, channel_clients.principal_for(client)
            return view(*args, **kwargs)
        return wrapper
    return decorate
