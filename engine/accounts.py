"""Users, roles, passwords (argon2) and API tokens (random, stored hashed, expiring, revocable)."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import AuthenticationFailed, ValidationFailed
from .models import ApiToken, User

# leader = a unit's deputy leader (分管领导); principal = its principal leader (主要领导), who also holds
# leader. inspector = the party-committee/government inspection office (督查办); city_leader = city leaders.
ROLES = ("operator", "dispatcher", "callback", "handler", "leader", "principal", "supervisor", "inspector",
         "city_leader", "analyst", "admin", "auditor")
UNIT_ROLES = {"handler", "leader", "principal"}
CENTRE_ROLES = {"operator", "dispatcher", "callback", "supervisor", "inspector", "city_leader", "analyst", "admin",
                "auditor"}
TOKEN_LIFETIME = timedelta(hours=12)
_HASHER = PasswordHasher()


@dataclass(frozen=True)
class Principal:
    username: str
    roles: frozenset
    unit_code: str | None = None
    city: str | None = None
    display_name: str | None = None

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_centre(self) -> bool:
        return bool(self.roles & CENTRE_ROLES)


SYSTEM = Principal("system", frozenset({"system"}))


def principal_of(user: User) -> Principal:
    return Principal(user.username, frozenset(user.roles), user.unit_code, user.city, user.display_name)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def add_user(session: Session, username: str, password: str | None, roles: list[str], *, unit_code: str | None = None,
             city: str | None = None, display_name: str | None = None, password_hash: str | None = None,
             email: str | None = None, phone: str | None = None) -> User:
    """Create or update a user. ``password_hash`` lets a caller that creates many users with one
    password (the demo) hash it once. ``email``/``phone`` are the outbound notification addresses
    (None keeps what is stored)."""
    if not password_hash and not password:
        raise ValidationFailed("必须设置密码", "A password is required", details={"password": ["required"]})
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise ValidationFailed(f"未知角色：{unknown}", f"Unknown roles: {unknown}", details={"roles": unknown})
    if set(roles) & UNIT_ROLES and not unit_code:
        raise ValidationFailed("经办人和单位领导必须指定所属单位", "Handlers and leaders need a unit",
                               details={"unit": ["required"]})
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username)
        session.add(user)
    user.password_hash = password_hash or _HASHER.hash(password)
    user.roles = list(roles)
    user.unit_code = unit_code
    user.city = city
    user.display_name = display_name or username
    user.active = True
    if email is not None:
        user.email = email or None
    if phone is not None:
        user.phone = phone or None
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User:
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        # Spend the same effort as a real check so timing does not reveal which usernames exist.
        _HASHER.hash(password)
        raise AuthenticationFailed()
    try:
        _HASHER.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise AuthenticationFailed() from None
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, now: datetime) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    expires = now + TOKEN_LIFETIME
    session.add(ApiToken(token_hash=_digest(token), user_id=user.id, created_at=now, expires_at=expires))
    return token, expires


def principal_for_token(session: Session, token: str, now: datetime) -> Principal:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked or row.expires_at <= now:
        raise AuthenticationFailed()
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise AuthenticationFailed()
    return principal_of(user)


def revoke_token(session: Session, token: str) -> None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is not None:
        row.revoked = True


def principal_for_username(session: Session, username: str) -> Principal | None:
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    return principal_of(user) if user else None
