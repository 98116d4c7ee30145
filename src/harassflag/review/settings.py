"""Review settings: one pydantic-settings class read from HARASSFLAG_* environment variables."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import ReviewConfigError


class ReviewSettings(BaseSettings):
    """Where the queue lives, who may review, and how long items are kept."""

    model_config = SettingsConfigDict(env_prefix="HARASSFLAG_", extra="ignore")

    database_url: str = "sqlite:///data/review.db"
    """SQLAlchemy URL: `sqlite:///path.db` (WAL mode) or `postgresql://user@host/db` (psycopg)."""
    moderator_keys: str = Field(default="", repr=False)
    """Comma-separated `name:key` pairs; a key may be given as `sha256:<hex digest>`."""
    moderator_keys_file: Path | None = None
    """A file of `name:key` lines (blank lines and `#` comments ignored)."""
    api_keys: str = Field(default="", repr=False)
    """Scoring keys for `POST /v1/review/items` (comma-separated), unless the service passes its own check."""
    api_keys_file: Path | None = None
    session_secret: str = Field(default="", repr=False)
    """Secret that signs session cookies; derived from the moderator keys when empty."""
    session_max_age_seconds: int = Field(default=8 * 3600, ge=60)
    retention_days: int = Field(default=90, ge=1)
    queue_all_flagged: bool = False
    """Queue every flagged message scored by `/v1/score`, not only those sent with `"review": true`."""
    secure_cookies: bool = False
    """Mark the session cookie Secure (set when served over HTTPS)."""
    page_size: int = Field(default=50, ge=1, le=500)
    max_items_per_request: int = Field(default=500, ge=1)
    max_text_chars: int = Field(default=20_000, ge=1)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql")):
            raise ValueError("database_url must start with sqlite: or postgresql")
        return value

    def moderators(self) -> dict[str, str]:
        """Moderator name -> key (or `sha256:<hex>`), from the variable and the file."""
        entries = [e for e in self.moderator_keys.split(",") if e.strip()]
        if self.moderator_keys_file is not None:
            try:
                lines = self.moderator_keys_file.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise ReviewConfigError(f"cannot read moderator key file: {exc.strerror}") from None
            entries += [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
        result: dict[str, str] = {}
        for number, entry in enumerate(entries, 1):
            name, sep, key = entry.strip().partition(":")
            if not sep or not name.strip() or not key.strip():
                raise ReviewConfigError(f"moderator entry {number} is not `name:key`")
            if len(key.strip()) < 8 and not key.startswith("sha256:"):
                raise ReviewConfigError(
                    f"moderator {name.strip()!r}: key shorter than 8 characters"
                )
            result[name.strip()] = key.strip()
        return result

    def scoring_keys(self) -> list[str]:
        """Scoring API keys accepted by `POST /v1/review/items` when no dependency is passed."""
        keys = [k.strip() for k in self.api_keys.split(",") if k.strip()]
        if self.api_keys_file is not None:
            try:
                lines = self.api_keys_file.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise ReviewConfigError(f"cannot read API key file: {exc.strerror}") from None
            keys += [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
        return keys

    def signing_secret(self) -> bytes:
        """The session-signing secret; derived from the moderator keys so every worker agrees."""
        if self.session_secret:
            return self.session_secret.encode("utf-8")
        material = "\n".join(f"{n}:{k}" for n, k in sorted(self.moderators().items()))
        return hashlib.sha256(b"harassflag-review-session\0" + material.encode("utf-8")).digest()
