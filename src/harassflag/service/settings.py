"""Service settings: one pydantic-settings class read from `HARASSFLAG_*` variables and CLI flags.

Everything that can make the service unsafe is refused here, at start-up, with a clear message:
listening beyond loopback without API keys, an unreadable key file, nonsensical limits.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def is_loopback_host(host: str) -> bool:
    """True if `host` only accepts connections from this machine."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _split_keys(value: Any) -> Any:
    """Accept `a,b,c` (environment) as well as a list (Python, CLI)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def read_key_file(path: Path) -> list[str]:
    """Keys from a file, one per line; blank lines and `#` comments are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read API key file {path}: {exc.__class__.__name__}") from None
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


class Settings(BaseSettings):
    """Every knob of `harassflag serve`; environment variables use the prefix `HARASSFLAG_`."""

    model_config = SettingsConfigDict(env_prefix="HARASSFLAG_", extra="ignore", validate_default=True)

    model: Path | None = Field(
        default=None, description="Model directory (default: $HARASSFLAG_MODEL, then models/default)."
    )
    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)

    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list, repr=False)
    """Comma-separated in the environment (`HARASSFLAG_API_KEYS=k1,k2`)."""
    api_key_file: Path | None = None
    """One key per line; merged with `api_keys`."""
    admin_keys: Annotated[list[str], NoDecode] = Field(default_factory=list, repr=False)
    """Keys for /admin/*; separate from the scoring keys. No admin key: admin routes answer 403."""
    allow_anonymous: bool = False
    """Serve without API keys on a non-loopback address (must be asked for explicitly)."""

    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=256 * 1_048_576)
    max_items: int = Field(default=256, ge=1, le=100_000)
    """Messages per request (413 above)."""
    max_chars: int = Field(default=20_000, ge=1, le=10_000_000)
    """Characters per text (422 above, unless `truncate_chars`). Perspective's own limit is 20 KB."""
    truncate_chars: bool = False
    """Cut texts longer than `max_chars` instead of refusing them (the result says `truncated`)."""
    max_id_chars: int = Field(default=256, ge=1, le=10_000)
    explain_top: int = Field(default=8, ge=1, le=100)

    micro_batch: bool = True
    """Score concurrent single requests together in one model call (same results, less overhead)."""
    micro_batch_max: int = Field(default=512, ge=1, le=10_000)
    """Texts after which the batcher stops adding requests to a model call (one bigger request is
    scored alone). Merging batch requests pays: per-text cost falls until a few hundred texts."""
    micro_batch_wait_ms: float = Field(default=1.0, ge=0.0, le=50.0)
    """While the batcher is busy, how long it lets more requests gather before a model call
    (0: never waits). A request reaching an idle server is scored at once."""

    review: bool = False
    """Mount the moderator review queue (`/review`) and queue flagged messages sent with `review`."""

    log_level: str = Field(default="info", pattern=r"^(?i:critical|error|warning|info|debug)$")
    log_requests: bool = True
    """One line per request: request id, route, status, counts, latency (never message text)."""
    bench_echo: bool = False
    """Expose `POST /bench/echo`, a no-op pydantic endpoint used as the benchmark baseline."""

    @field_validator("api_keys", "admin_keys", mode="before")
    @classmethod
    def _keys_from_csv(cls, value: Any) -> Any:
        return _split_keys(value)

    @field_validator("api_keys", "admin_keys")
    @classmethod
    def _keys_are_sane(cls, keys: list[str]) -> list[str]:
        cleaned = [k.strip() for k in keys if k.strip()]
        for key in cleaned:
            if len(key) < 8 or not key.isascii() or not key.isprintable():
                raise ValueError("API keys must be printable ASCII, at least 8 characters")
        return cleaned

    @model_validator(mode="after")
    def _merge_key_file_and_check_exposure(self) -> Settings:
        if self.api_key_file is not None:
            extra = self._keys_are_sane(read_key_file(self.api_key_file))
            self.api_keys = list(dict.fromkeys([*self.api_keys, *extra]))
        if not self.api_keys and not self.allow_anonymous and not is_loopback_host(self.host):
            raise ValueError(
                f"refusing to listen on {self.host!r} without API keys: set HARASSFLAG_API_KEYS or "
                "HARASSFLAG_API_KEY_FILE, or pass --allow-anonymous to serve anyone who can connect"
            )
        return self

    @property
    def auth_required(self) -> bool:
        """Scoring routes need a key whenever any key is configured."""
        return bool(self.api_keys)
