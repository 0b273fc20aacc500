"""Machine clients (channel adapters, Open311 clients, upstream platforms) and their keys.

A key is random, shown once when the client is created, and stored as its sha256 (like API tokens).
Inside the engine a client acts as a principal holding ``system`` (so the facade's ticket commands take
it) plus ``channel``; the HTTP layer decides which few commands a client can reach at all.
Administrators create and revoke clients; every change is an audited admin event. Mixed into ``Hotline``.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from .accounts import Principal
from .channel_models import ChannelClient
from .cities import available_cities, effective_channels
from .errors import AuthenticationFailed, Conflict, NotFound, field_error
from .rulesets import record_admin_event

# generic: the platform's own intake JSON (web, app, mini-program, mayor mailbox ...);
# grid / city_management: those systems' report formats; open311: GeoReport v2 clients;
# upstream: a provincial or national platform pushing directives and receiving status back.
CLIENT_KINDS = ("generic", "grid", "city_management", "open311", "upstream")
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_")
KEY_PREFIX = "hk_"
LAST_USED_RESOLUTION = timedelta(minutes=1)


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def principal_for(client: ChannelClient) -> Principal:
    return Principal(f"channel:{client.name}", frozenset({"system", "channel"}), None, client.city)


def authenticate(session: Session, key: str | None, now: datetime, kinds: tuple[str, ...]) -> ChannelClient:
    """The active client holding this key, of one of these kinds; 401 otherwise (same answer for an
    unknown, revoked or wrong-kind key, so keys cannot be probed)."""
    if not key or not key.startswith(KEY_PREFIX):
        raise AuthenticationFailed("缺少或无效的接入密钥", "Missing or invalid client key")
    client = session.scalar(select(ChannelClient).where(ChannelClient.key_hash == key_digest(key)))
    if client is None or not client.active or client.kind not in kinds \
            or not hmac.compare_digest(client.key_hash, key_digest(key)):
        raise AuthenticationFailed("缺少或无效的接入密钥", "Missing or invalid client key")
    # Stamped at most once a minute: the update locks the client's row until commit, and a busy grid system
    # sending many requests at once must not queue on it.
    if client.last_used_at is None or now - client.last_used_at >= LAST_USED_RESOLUTION:
        client.last_used_at = now
    return client


class ChannelClientCommands:
    def channel_clients(self, actor: Principal, city: str | None = None) -> list[ChannelClient]:
        self._require(actor, "admin")
        query = select(ChannelClient).order_by(ChannelClient.city, ChannelClient.name)
        if city:
            query = query.where(ChannelClient.city == city)
        return list(self.session.scalars(query))

    def create_channel_client(self, actor: Principal, *, city: str, name: str, channel: str, kind: str,
                              webhook_url: str | None = None) -> tuple[ChannelClient, str]:
        """A new client and its key (returned once, never stored in clear)."""
        self._require(actor, "admin")
        if city not in available_cities():
            raise field_error("city", "unknown_city", f"未知城市：{city}", f"unknown city {city!r}")
        name = (name or "").strip().lower()
        if not (2 <= len(name) <= 80) or set(name) - NAME_CHARS:
            raise field_error("name", "invalid", "名称为2至80位小写字母、数字、- 或 _",
                              "the name is 2 to 80 lowercase letters, digits, - or _")
        if kind not in CLIENT_KINDS:
            raise field_error("kind", "not_an_option", f"类型必须是{list(CLIENT_KINDS)}之一",
                              f"must be one of {list(CLIENT_KINDS)}")
        if channel not in {c["code"] for c in effective_channels(self.session, city)}:
            raise field_error("channel", "unknown_channel", f"未知渠道：{channel}", f"unknown channel {channel!r}")
        if webhook_url is not None and not webhook_url.startswith(("http://", "https://")):
            raise field_error("webhook_url", "invalid", "回传地址必须以 http:// 或 https:// 开头",
                              "the webhook URL must start with http:// or https://")
        if self.session.scalar(select(ChannelClient.id).where(ChannelClient.city == city, ChannelClient.name == name)):
            raise Conflict(f"接入方{name}已存在", f"A client named {name} already exists")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        now = self.clock.now()
        client = ChannelClient(city=city, name=name, channel=channel, kind=kind, key_hash=key_digest(key),
                               key_hint=key[:10], active=True, webhook_url=webhook_url,
                               webhook_secret=secrets.token_urlsafe(24) if webhook_url else None,
                               created_by=actor.username, created_at=now)
        self.session.add(client)
        self.session.flush()
        record_admin_event(self.session, "channel_client_created", actor.username, now,
                           {"city": city, "client": name, "channel": channel, "kind": kind,
                            "key_hint": client.key_hint, "webhook_url": webhook_url})
        return client, key

    def revoke_channel_client(self, actor: Principal, client_id: int) -> ChannelClient:
        self._require(actor, "admin")
        client = self.session.get(ChannelClient, client_id)
        if client is None:
            raise NotFound("接入方不存在", "Client not found")
        if client.active:
            client.active, client.revoked_at = False, self.clock.now()
            record_admin_event(self.session, "channel_client_revoked", actor.username, client.revoked_at,
                               {"city": client.city, "client": client.name, "key_hint": client.key_hint})
        return client
