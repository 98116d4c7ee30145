"""Errors at the HTTP edge: RFC 9457 problem JSON with a stable `type` URI per kind of problem.

Two compatibility shapes are layered on top: the OpenAI route adds OpenAI's `error` member to the
problem (its client reads `error.message`), and the Perspective route answers in Google's error
format `{"error": {"code", "message", "status"}}` because Perspective clients parse exactly that.
"""

from __future__ import annotations

import json
import logging
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ..errors import HarassflagError

PROBLEM_BASE = "https://harassflag.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"
PERSPECTIVE_PREFIX = "/v1alpha1/"
OPENAI_PATH = "/v1/moderations"

log = logging.getLogger("harassflag.service")

# slug -> (status, title). The slugs are part of the API: never rename one.
PROBLEMS: dict[str, tuple[int, str]] = {
    "malformed-json": (400, "Request body is not valid JSON"),
    "invalid-utf8": (400, "Request body is not valid UTF-8 (or has lone surrogates)"),
    "unsupported-attribute": (400, "Requested attribute is not computed by this model"),
    "unsupported-language": (400, "Requested language is not supported"),
    "unsupported-input": (400, "Input type is not supported"),
    "unauthorized": (401, "Missing or invalid API key"),
    "admin-disabled": (403, "No admin key is configured"),
    "not-found": (404, "Not found"),
    "method-not-allowed": (405, "Method not allowed"),
    "model-reload-failed": (409, "New model failed verification; the previous model is still serving"),
    "reload-in-progress": (409, "A reload is already running"),
    "body-too-large": (413, "Request body is too large"),
    "too-many-items": (413, "Too many items in one request"),
    "unsupported-media-type": (415, "Unsupported media type"),
    "text-too-long": (422, "A text is longer than the configured limit"),
    "invalid-request": (422, "Request does not match the schema"),
    "model-not-ready": (503, "No verified model is loaded"),
    "internal-error": (500, "Internal error"),
}

GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    415: "INVALID_ARGUMENT",
    422: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    503: "UNAVAILABLE",
}

OPENAI_ERROR_TYPE = {401: "invalid_api_key", 413: "invalid_request_error", 500: "server_error"}


class ProblemError(HarassflagError):
    """An error with a problem `type`; raised anywhere in the service, rendered at the edge."""

    def __init__(self, slug: str, detail: str, *, status: int | None = None, **extra: Any) -> None:
        if slug not in PROBLEMS:
            raise KeyError(f"unknown problem type {slug!r}")
        super().__init__(detail)
        self.slug = slug
        self.status = status or PROBLEMS[slug][0]
        self.title = PROBLEMS[slug][1]
        self.detail = detail
        self.extra = extra


def problem_body(slug: str, status: int, detail: str, **extra: Any) -> dict[str, Any]:
    """The problem JSON document for `slug`."""
    return {
        "type": PROBLEM_BASE + slug,
        "title": PROBLEMS[slug][1],
        "status": status,
        "detail": detail,
        **extra,
    }


def _dumps(obj: Any) -> bytes:
    # ensure_ascii keeps the output valid even if a lone surrogate slipped into a message.
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def render_problem(request: Request | None, exc: ProblemError) -> Response:
    """The response for `exc` in the shape the requested route's clients expect."""
    path = request.url.path if request is not None else ""
    headers = {"WWW-Authenticate": 'Bearer realm="harassflag"'} if exc.status == 401 else None
    request_id = request.scope.get("harassflag.request_id") if request is not None else None
    if path.startswith(PERSPECTIVE_PREFIX):
        # Google APIs answer every invalid argument with 400; 413 stays (it comes from the front).
        status = 400 if exc.status == 422 else exc.status
        body = {
            "error": {
                "code": status,
                "message": exc.detail,
                "status": GOOGLE_STATUS.get(status, "INTERNAL"),
            }
        }
        return Response(_dumps(body), status_code=status, media_type="application/json", headers=headers)
    body = problem_body(exc.slug, exc.status, exc.detail, **exc.extra)
    if request_id:
        body["request_id"] = request_id
    if path == OPENAI_PATH:
        body["error"] = {
            "message": exc.detail,
            "type": OPENAI_ERROR_TYPE.get(exc.status, "invalid_request_error"),
            "param": None,
            "code": exc.slug,
        }
    return Response(_dumps(body), status_code=exc.status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def problem_from_validation(errors: list[Any], max_items: int, max_chars: int) -> ProblemError:
    """Turn pydantic errors into one problem (no client input is echoed back)."""
    kinds = {e.get("type") for e in errors}
    if "json_invalid" in kinds:
        msg = next(e.get("msg", "") for e in errors if e.get("type") == "json_invalid")
        low = msg.lower()
        if "unicode" in low or "utf-8" in low or "surrogate" in low or "hex escape" in low:
            return ProblemError("invalid-utf8", f"{msg}; send UTF-8 JSON without lone surrogates")
        return ProblemError("malformed-json", msg or "invalid JSON")
    if "too_long" in kinds:
        return ProblemError("too-many-items", f"at most {max_items} items per request")
    if "string_too_long" in kinds:
        locs = [_loc(e) for e in errors if e.get("type") == "string_too_long"]
        return ProblemError(
            "text-too-long",
            f"text longer than the limit ({max_chars} characters for texts) at {', '.join(locs[:5])}",
        )
    for e in errors:
        if e.get("type") == "value_error" and "surrogate" in str(e.get("msg", "")):
            return ProblemError("invalid-utf8", f"{e['msg']} at {_loc(e)}")
    parts = [f"{_loc(e)}: {e.get('msg', 'invalid')}" for e in errors[:10]]
    more = f" (+{len(errors) - 10} more)" if len(errors) > 10 else ""
    return ProblemError(
        "invalid-request",
        "; ".join(parts) + more,
        errors=[{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))} for e in errors[:10]],
    )


def _loc(error: dict[str, Any]) -> str:
    loc = [str(p) for p in error.get("loc", ()) if p != "body"]
    return ".".join(loc) or "body"


def install_problem_handlers(app: FastAPI) -> None:
    """Every error leaves the app as a problem (or Google/OpenAI-shaped) response."""
    settings = app.state.settings

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ProblemError)
        return render_problem(request, exc)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        slug = {
            401: "unauthorized",
            404: "not-found",
            405: "method-not-allowed",
            413: "body-too-large",
            415: "unsupported-media-type",
        }.get(exc.status_code, "invalid-request" if exc.status_code < 500 else "internal-error")
        detail = exc.detail if isinstance(exc.detail, str) else PROBLEMS[slug][1]
        response = render_problem(request, ProblemError(slug, detail, status=exc.status_code))
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, (RequestValidationError, ValidationError))
        problem = problem_from_validation(list(exc.errors()), settings.max_items, settings.max_chars)
        return render_problem(request, problem)

    async def on_crash(request: Request, exc: Exception) -> Response:
        # The exception text may quote input; log its type and frames only.
        frames = "".join(traceback.format_tb(exc.__traceback__))
        log.error(
            "unhandled %s request_id=%s route=%s\n%s",
            type(exc).__name__,
            request.scope.get("harassflag.request_id"),
            request.url.path,
            frames,
        )
        return render_problem(request, ProblemError("internal-error", "internal error; see server log"))

    async def on_core_error(request: Request, exc: Exception) -> Response:
        # Core errors raised while serving: bad input is the client's, anything else is ours.
        from ..errors import BadInputError

        if isinstance(exc, BadInputError):
            return render_problem(request, ProblemError("invalid-request", str(exc)))
        log.error("%s while serving request_id=%s", type(exc).__name__, request.scope.get("harassflag.request_id"))
        return render_problem(request, ProblemError("internal-error", "internal error; see server log"))

    app.add_exception_handler(HarassflagError, on_core_error)
    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(ValidationError, on_validation)
    app.add_exception_handler(Exception, on_crash)
