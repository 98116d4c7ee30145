"""Shared dependencies: API keys, bounded body reading and strict JSON parsing, the served model.

Bodies are read here rather than by FastAPI so that every failure (too large, chunked without a
Content-Length, invalid UTF-8, lone surrogates, deep nesting, huge numbers, wrong types) becomes a
4xx problem with a stable type. Parsing is pydantic's (`model_validate_json`, one pass in Rust).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ValidationError

from .engine import ModelHolder, Served
from .problems import ProblemError, problem_from_validation
from .settings import Settings

M = TypeVar("M", bound=BaseModel)

bearer_scheme = HTTPBearer(auto_error=False, scheme_name="bearer", description="Authorization: Bearer <key>")
header_scheme = APIKeyHeader(name="x-api-key", auto_error=False, scheme_name="x-api-key")
query_scheme = APIKeyQuery(
    name="key", auto_error=False, scheme_name="key-query", description="Perspective clients send ?key="
)

JSON_TYPES = ("application/json",)


class KeyRing:
    """A set of keys checked in constant time (every key is compared, match or not)."""

    def __init__(self, keys: list[str]) -> None:
        self._keys = [k.encode("utf-8") for k in keys]

    def __bool__(self) -> bool:
        return bool(self._keys)

    def matches(self, candidate: str | None) -> bool:
        """True if `candidate` is one of the keys."""
        if not candidate:
            return False
        given = candidate.encode("utf-8", "replace")
        found = False
        for key in self._keys:
            found |= hmac.compare_digest(key, given)
        return found


async def get_settings(request: Request) -> Settings:
    """The app's settings."""
    return request.app.state.settings


async def get_holder(request: Request) -> ModelHolder:
    """The app's model holder."""
    return request.app.state.holder


def serving(request: Request) -> Served:
    """The model (and its summary) for this request, taken once: a reload mid-request does not affect it."""
    served = request.app.state.holder.served
    if served is None:
        raise ProblemError("model-not-ready", "no verified model is loaded")
    return served


async def current_model(request: Request) -> Any:
    """The model for this request, taken once (as a dependency)."""
    return serving(request).model


def _check(request: Request, ring: KeyRing, candidates: list[str | None]) -> None:
    if not ring:
        return
    ok = False
    for candidate in candidates:
        ok |= ring.matches(candidate)
    if not ok:
        given = any(candidates)
        raise ProblemError(
            "unauthorized",
            "invalid API key" if given else "an API key is required (Authorization: Bearer or x-api-key)",
        )


async def require_api_key(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
    header_key: Annotated[str | None, Security(header_scheme)],
) -> None:
    """Scoring routes: a key in `Authorization: Bearer` or `x-api-key` (when keys are configured)."""
    _check(request, request.app.state.api_keys, [bearer.credentials if bearer else None, header_key])


async def require_api_key_or_query(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
    header_key: Annotated[str | None, Security(header_scheme)],
    query_key: Annotated[str | None, Security(query_scheme)],
) -> None:
    """The Perspective route also takes `?key=` like Perspective clients send it."""
    _check(
        request,
        request.app.state.api_keys,
        [bearer.credentials if bearer else None, header_key, query_key],
    )


async def require_admin_key(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
    header_key: Annotated[str | None, Security(header_scheme)],
) -> None:
    """Admin routes: a key from HARASSFLAG_ADMIN_KEYS (scoring keys are not enough)."""
    ring: KeyRing = request.app.state.admin_keys
    if not ring:
        raise ProblemError("admin-disabled", "admin routes are disabled: set HARASSFLAG_ADMIN_KEYS")
    candidates = [bearer.credentials if bearer else None, header_key]
    ok = False
    for candidate in candidates:
        ok |= ring.matches(candidate)
    if not ok:
        raise ProblemError("unauthorized", "a valid admin key is required")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it exceeds `limit` (chunked bodies too)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ProblemError("body-too-large", f"the body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ProblemError("body-too-large", f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def check_content_type(request: Request) -> None:
    """JSON only; browser-simple types (text/plain, forms) are refused so pages cannot post here."""
    value = request.headers.get("content-type")
    if value is None:
        return
    media = value.split(";", 1)[0].strip().lower()
    if media in JSON_TYPES or media.endswith("+json"):
        return
    raise ProblemError("unsupported-media-type", "send the body as JSON (Content-Type: application/json)")


def parse_json(raw: bytes, schema: type[M], settings: Settings) -> M:
    """Validate `raw` against `schema`; every failure is a 4xx problem."""
    try:
        return schema.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False, include_context=False)
        raise problem_from_validation(list(errors), settings.max_items, settings.max_chars) from None
    except RecursionError:
        raise ProblemError("malformed-json", "the JSON is nested too deeply") from None


def json_body(schema: type[M]) -> Callable[[Request], Awaitable[M]]:
    """A dependency returning the request body parsed as `schema`."""

    async def dependency(request: Request) -> M:
        settings: Settings = request.app.state.settings
        check_content_type(request)
        raw = await read_body(request, settings.max_body_bytes)
        return parse_json(raw, schema, settings)

    dependency.__name__ = f"parse_{schema.__name__}"
    return dependency


def request_body_doc(schema: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` documenting a body parsed by `json_body` (the schema joins the components)."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema.__name__}"}}},
        }
    }


def note_items(request: Request, items: int, flagged: int | None = None) -> None:
    """Counts for the request log line (the log never holds message text)."""
    request.scope["harassflag.items"] = items
    if flagged is not None:
        request.scope["harassflag.flagged"] = flagged


ModelDep = Annotated[Any, Depends(current_model)]
HolderDep = Annotated[ModelHolder, Depends(get_holder)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
