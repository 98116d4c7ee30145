"""Moderator sign-in: key check, signed session cookie, CSRF tokens.

The session is a stateless cookie signed with HMAC-SHA256 (no server-side store, so every
worker process accepts it). It carries the moderator's name, a fingerprint of their key (a
changed or removed key ends the session), an expiry, and the CSRF token that every form and
every JavaScript POST must echo back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from .settings import ReviewSettings

SESSION_COOKIE = "harassflag_review"
LOGIN_COOKIE = "harassflag_review_login"
COOKIE_PATH = "/review"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
LOGIN_MAX_AGE_SECONDS = 1800


@dataclass(frozen=True)
class Session:
    """A signed-in moderator."""

    moderator: str
    csrf_token: str
    expires: int


class ModeratorRegistry:
    """Moderator names and keys; keys are compared in constant time."""

    def __init__(self, moderators: dict[str, str]) -> None:
        self._keys = dict(moderators)

    def __bool__(self) -> bool:
        return bool(self._keys)

    def verify(self, name: str, key: str) -> bool:
        """Whether `key` is `name`'s key (timing does not reveal which names exist)."""
        stored = self._keys.get(name)
        candidate = key.encode("utf-8")
        if stored is None:
            hmac.compare_digest(candidate, b"x" * len(candidate))
            return False
        if stored.startswith("sha256:"):
            digest = hashlib.sha256(candidate).hexdigest()
            return hmac.compare_digest(digest.encode(), stored[7:].strip().lower().encode())
        return hmac.compare_digest(candidate, stored.encode("utf-8"))

    def fingerprint(self, name: str) -> str | None:
        """A short digest of `name`'s stored key (None if the moderator is gone)."""
        stored = self._keys.get(name)
        if stored is None:
            return None
        return hashlib.sha256(b"fp\0" + stored.encode("utf-8")).hexdigest()[:16]


class SessionSigner:
    """Signs and verifies session and login cookies."""

    def __init__(self, secret: bytes, registry: ModeratorRegistry, max_age_seconds: int) -> None:
        self._secret = secret
        self.registry = registry
        self.max_age_seconds = max_age_seconds

    def _sign(self, payload: dict) -> str:
        body = (
            base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
            .decode()
            .rstrip("=")
        )
        mac = hmac.new(self._secret, body.encode(), hashlib.sha256).hexdigest()
        return f"{body}.{mac}"

    def _unsign(self, value: str | None) -> dict | None:
        if not value or "." not in value or len(value) > 4096:
            return None
        body, _, mac = value.rpartition(".")
        expected = hmac.new(self._secret, body.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(mac.encode(), expected.encode()):
            return None
        try:
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            return None
        if (
            not isinstance(payload, dict)
            or not isinstance(payload.get("exp"), int)
            or payload["exp"] < time.time()
        ):
            return None
        return payload

    def new_session(self, moderator: str) -> tuple[Session, str]:
        """A fresh session (new CSRF token) and its cookie value."""
        session = Session(
            moderator, secrets.token_urlsafe(32), int(time.time()) + self.max_age_seconds
        )
        value = self._sign(
            {
                "k": "s",
                "m": moderator,
                "f": self.registry.fingerprint(moderator),
                "c": session.csrf_token,
                "exp": session.expires,
            }
        )
        return session, value

    def read_session(self, value: str | None) -> Session | None:
        """The session in a cookie, if it is valid, unexpired and its moderator's key unchanged."""
        payload = self._unsign(value)
        if payload is None or payload.get("k") != "s":
            return None
        moderator = payload.get("m")
        fingerprint = self.registry.fingerprint(moderator) if isinstance(moderator, str) else None
        if fingerprint is None or not hmac.compare_digest(str(payload.get("f")), fingerprint):
            return None
        return Session(moderator, str(payload.get("c")), payload["exp"])

    def new_login_token(self) -> tuple[str, str]:
        """A CSRF token for the sign-in form and the short-lived cookie that vouches for it."""
        token = secrets.token_urlsafe(32)
        return token, self._sign(
            {"k": "l", "c": token, "exp": int(time.time()) + LOGIN_MAX_AGE_SECONDS}
        )

    def read_login_token(self, value: str | None) -> str | None:
        """The sign-in form's CSRF token from its cookie, if valid."""
        payload = self._unsign(value)
        if payload is None or payload.get("k") != "l":
            return None
        return str(payload.get("c"))


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Constant-time CSRF token comparison; a missing token never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def build_signer(settings: ReviewSettings) -> SessionSigner:
    """The signer for these settings (same secret in every worker)."""
    registry = ModeratorRegistry(settings.moderators())
    return SessionSigner(settings.signing_secret(), registry, settings.session_max_age_seconds)
