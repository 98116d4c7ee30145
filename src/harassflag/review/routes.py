"""The `/review` page, sign-in, decisions, and `POST /v1/review/items`, as one FastAPI router."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Header, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, ConfigDict, Field

from .auth import (
    COOKIE_PATH,
    CSRF_FIELD,
    LOGIN_COOKIE,
    LOGIN_MAX_AGE_SECONDS,
    SESSION_COOKIE,
    Session,
    build_signer,
    tokens_match,
)
from .errors import BadItemError, ItemNotFoundError, ReviewError
from .highlight import highlight_segments
from .settings import ReviewSettings
from .store import DECISIONS, SORTS, STATUSES, ItemFilter, NewItem, ReviewQueue

PACKAGE_DIR = Path(__file__).parent
STATIC_FILES = {
    "review.css": "text/css; charset=utf-8",
    "review.js": "text/javascript; charset=utf-8",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
DECISION_LABELS = {
    "confirmed": "Harassment",
    "dismissed": "Not harassment",
    "escalated": "Escalate",
}
PROBLEM_BASE = "urn:harassflag:problem:"


class SpanIn(BaseModel):
    """An explanation span: offsets into the original text."""

    model_config = ConfigDict(extra="forbid")
    term: str = Field(default="", max_length=200)
    start: int = Field(ge=0)
    end: int = Field(ge=1)
    weight: float = 0.0


class ReviewItemIn(BaseModel):
    """A flagged message to queue for review."""

    model_config = ConfigDict(extra="forbid")
    source: str = Field(
        min_length=1, max_length=64, description="Where the message comes from, e.g. `discord`."
    )
    external_id: str = Field(
        min_length=1, max_length=256, description="The message id at the source."
    )
    text: str = Field(min_length=1, max_length=100_000)
    scores: dict[str, float] = Field(min_length=1, max_length=16)
    categories: dict[str, bool] | None = Field(default=None, max_length=16)
    spans: list[SpanIn] = Field(default_factory=list, max_length=64)
    channel: str | None = Field(default=None, max_length=256)
    author: str | None = Field(default=None, max_length=256)
    model_sha256: str | None = Field(default=None, max_length=64)
    created_at: datetime | None = None


class ReviewItemsIn(BaseModel):
    """A batch of messages to queue; re-sending the same (source, external_id) does not duplicate."""

    model_config = ConfigDict(extra="forbid")
    items: list[ReviewItemIn] = Field(min_length=1, max_length=10_000)


class QueuedOut(BaseModel):
    """Where one submitted message sits in the queue."""

    id: int
    source: str
    external_id: str
    created: bool


class ReviewItemsOut(BaseModel):
    """Result of a submission: one entry per item, in order."""

    items: list[QueuedOut]
    created: int


def problem(status: int, kind: str, title: str, detail: str | None = None) -> JSONResponse:
    """An RFC 9457 problem response with a stable `type`."""
    body: dict[str, Any] = {"type": PROBLEM_BASE + kind, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def scoring_key_dependency(settings: ReviewSettings) -> Callable[..., None]:
    """A dependency checking `Authorization: Bearer` or `x-api-key` against HARASSFLAG_API_KEYS."""
    keys = [k.encode("utf-8") for k in settings.scoring_keys()]

    def require_scoring_key(
        authorization: Annotated[str | None, Header()] = None,
        x_api_key: Annotated[str | None, Header()] = None,
    ) -> None:
        if not keys:  # no keys configured: the service only allows that on loopback
            return
        given = x_api_key
        if authorization and authorization[:7].lower() == "bearer ":
            given = authorization[7:].strip()
        candidate = (given or "").encode("utf-8")
        matched = False
        for key in keys:
            matched |= hmac.compare_digest(candidate, key)
        if not given or not matched:
            raise HTTPException(
                401, "Missing or wrong API key", headers={"WWW-Authenticate": "Bearer"}
            )

    return require_scoring_key


def _parse_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _safe_return_to(value: str | None, base: str) -> str:
    """Only redirect back into the review page (never to another site)."""
    if (
        value
        and value.startswith(base + "/review")
        and not value.startswith("//")
        and "\\" not in value
    ):
        return value
    return base + "/review"


def build_review_router(
    settings: ReviewSettings | None = None,
    *,
    queue: ReviewQueue | None = None,
    api_key_dependency: Callable[..., Any] | None = None,
) -> APIRouter:
    """The review router; the service mounts it and may pass its queue and scoring-key check."""
    settings = settings or ReviewSettings()
    queue = queue or ReviewQueue.from_settings(settings)
    signer = build_signer(settings)
    templates = Environment(
        loader=FileSystemLoader(PACKAGE_DIR / "templates"),
        autoescape=select_autoescape(["html"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    templates.globals.update(decision_labels=DECISION_LABELS, statuses=STATUSES, sorts=SORTS)
    router = APIRouter()
    router.review_queue = queue  # type: ignore[attr-defined]  # the service enqueues from /v1/score
    require_key = api_key_dependency or scoring_key_dependency(settings)

    def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = templates.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def set_cookie(response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=COOKIE_PATH,
            httponly=True,
            samesite="strict",
            secure=settings.secure_cookies,
        )

    def current_session(request: Request) -> Session | None:
        return signer.read_session(request.cookies.get(SESSION_COOKIE))

    def base_of(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    def forbidden(request: Request, detail: str) -> Response:
        if _wants_json(request):
            return problem(403, "csrf", "Forbidden", detail)
        return render("error.html", 403, base=base_of(request), title="Forbidden", detail=detail)

    def check_post(
        request: Request, form_token: str | None, header_token: str | None
    ) -> Session | Response:
        session = current_session(request)
        if session is None:
            if _wants_json(request):
                return problem(401, "signed-out", "Signed out", "Sign in again at /review/login.")
            return RedirectResponse(base_of(request) + "/review/login", status_code=303)
        if not tokens_match(session.csrf_token, header_token or form_token):
            return forbidden(
                request, "The form's security token is missing or out of date. Reload the page."
            )
        return session

    # -- static files -------------------------------------------------------------------------

    @router.get("/review/static/{name}", include_in_schema=False)
    def review_static(name: str) -> Response:
        if name not in STATIC_FILES:
            return Response(status_code=404)
        content = (PACKAGE_DIR / "static" / name).read_bytes()
        return Response(
            content,
            media_type=STATIC_FILES[name],
            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
        )

    # -- sign-in ------------------------------------------------------------------------------

    @router.get("/review/login", include_in_schema=False)
    def login_page(request: Request) -> Response:
        if current_session(request) is not None:
            return RedirectResponse(base_of(request) + "/review", status_code=303)
        token, cookie = signer.new_login_token()
        response = render(
            "login.html",
            base=base_of(request),
            csrf_token=token,
            error=None,
            no_moderators=not signer.registry,
        )
        set_cookie(response, LOGIN_COOKIE, cookie, LOGIN_MAX_AGE_SECONDS)
        return response

    @router.post("/review/login", include_in_schema=False)
    def login(
        request: Request,
        name: Annotated[str, Form(max_length=128)] = "",
        key: Annotated[str, Form(max_length=512)] = "",
        csrf_token: Annotated[str | None, Form(alias=CSRF_FIELD, max_length=128)] = None,
    ) -> Response:
        expected = signer.read_login_token(request.cookies.get(LOGIN_COOKIE))
        if not tokens_match(expected, csrf_token):
            return forbidden(
                request, "The sign-in form expired or was not sent from this site. Reload it."
            )
        if not signer.registry.verify(name.strip(), key):
            token, cookie = signer.new_login_token()
            response = render(
                "login.html",
                401,
                base=base_of(request),
                csrf_token=token,
                error="Unknown moderator name or wrong key.",
                no_moderators=not signer.registry,
            )
            set_cookie(response, LOGIN_COOKIE, cookie, LOGIN_MAX_AGE_SECONDS)
            return response
        _session, cookie = signer.new_session(name.strip())
        response = RedirectResponse(base_of(request) + "/review", status_code=303)
        set_cookie(response, SESSION_COOKIE, cookie, settings.session_max_age_seconds)
        response.delete_cookie(LOGIN_COOKIE, path=COOKIE_PATH)
        return response

    @router.post("/review/logout", include_in_schema=False)
    def logout(
        request: Request,
        csrf_token: Annotated[str | None, Form(alias=CSRF_FIELD, max_length=128)] = None,
        x_csrf_token: Annotated[str | None, Header()] = None,
    ) -> Response:
        checked = check_post(request, csrf_token, x_csrf_token)
        if isinstance(checked, Response):
            return checked
        response = RedirectResponse(base_of(request) + "/review/login", status_code=303)
        response.delete_cookie(
            SESSION_COOKIE,
            path=COOKIE_PATH,
            httponly=True,
            samesite="strict",
            secure=settings.secure_cookies,
        )
        return response

    # -- the queue page -------------------------------------------------------------------------

    @router.get("/review", include_in_schema=False)
    def review_page(
        request: Request,
        status: str = "pending",
        head: str = "",
        channel: str = "",
        author: str = "",
        since: str = "",
        until: str = "",
        sort: str = "score",
        page: int = 1,
    ) -> Response:
        session = current_session(request)
        base = base_of(request)
        if session is None:
            return RedirectResponse(base + "/review/login", status_code=303)
        status = status if status in STATUSES else "pending"
        sort = sort if sort in SORTS else "score"
        page = max(1, min(page, 100_000))
        filters = ItemFilter(
            status=status,
            head=head or None,
            channel=channel or None,
            author=author or None,
            since=_parse_date(since),
            until=_parse_date(until),
        )
        offset = (page - 1) * settings.page_size
        items = queue.list_items(filters, sort=sort, limit=settings.page_size, offset=offset)
        matching = queue.count(filters)
        query = {
            "status": status,
            "head": head,
            "channel": channel,
            "author": author,
            "since": since,
            "until": until,
            "sort": sort,
        }
        query = {k: v for k, v in query.items() if v}

        def page_url(number: int) -> str:
            return base + "/review?" + urlencode({**query, "page": number})

        return render(
            "review.html",
            base=base,
            session=session,
            items=[(item, highlight_segments(item.text, item.spans)) for item in items],
            counts=queue.counts_by_status(),
            matching=matching,
            facets=queue.facets(),
            filters={
                "status": status,
                "head": head,
                "channel": channel,
                "author": author,
                "since": since,
                "until": until,
                "sort": sort,
            },
            page=page,
            first_index=offset,
            prev_url=page_url(page - 1) if page > 1 else None,
            next_url=page_url(page + 1) if offset + len(items) < matching else None,
            return_to=str(request.url.path)
            + (("?" + request.url.query) if request.url.query else ""),
            decisions=DECISIONS,
        )

    # -- decisions ------------------------------------------------------------------------------

    def _checked_decision(request: Request, decision: str, csrf_token: str | None,
                          x_csrf_token: str | None):  # type: ignore[no-untyped-def]
        """The signed-in moderator for a decision POST, or the error response to send."""
        checked = check_post(request, csrf_token, x_csrf_token)
        if isinstance(checked, Response):
            return checked
        if decision not in DECISIONS:
            return problem(
                422,
                "bad-decision",
                "Unknown decision",
                f"decision must be one of {', '.join(DECISIONS)}",
            )
        return checked

    @router.post("/review/items/bulk-decision", include_in_schema=False)
    def bulk_decision(
        request: Request,
        decision: Annotated[str, Form(max_length=32)] = "",
        ids: Annotated[list[int] | None, Form(max_length=1000)] = None,
        note: Annotated[str | None, Form(max_length=2000)] = None,
        return_to: Annotated[str | None, Form(max_length=2000)] = None,
        csrf_token: Annotated[str | None, Form(alias=CSRF_FIELD, max_length=128)] = None,
        x_csrf_token: Annotated[str | None, Header()] = None,
    ) -> Response:
        checked = _checked_decision(request, decision, csrf_token, x_csrf_token)
        if isinstance(checked, Response):
            return checked
        decided = queue.bulk_decide(ids or [], decision, checked.moderator, note or None)
        if _wants_json(request):
            return JSONResponse(
                {
                    "decided": [i.id for i in decided],
                    "status": decision,
                    "counts": queue.counts_by_status(),
                }
            )
        return RedirectResponse(_safe_return_to(return_to, base_of(request)), status_code=303)

    @router.post("/review/items/{item_id}/decision", include_in_schema=False)
    def item_decision(
        request: Request,
        item_id: int,
        decision: Annotated[str, Form(max_length=32)] = "",
        note: Annotated[str | None, Form(max_length=2000)] = None,
        return_to: Annotated[str | None, Form(max_length=2000)] = None,
        csrf_token: Annotated[str | None, Form(alias=CSRF_FIELD, max_length=128)] = None,
        x_csrf_token: Annotated[str | None, Header()] = None,
    ) -> Response:
        checked = _checked_decision(request, decision, csrf_token, x_csrf_token)
        if isinstance(checked, Response):
            return checked
        try:
            item = queue.decide(item_id, decision, checked.moderator, note or None)
        except ItemNotFoundError:
            return problem(404, "not-found", "No such review item")
        if _wants_json(request):
            return JSONResponse(
                {
                    "id": item.id,
                    "status": item.status,
                    "decided_by": item.decided_by,
                    "counts": queue.counts_by_status(),
                }
            )
        return RedirectResponse(_safe_return_to(return_to, base_of(request)), status_code=303)

    # -- the API --------------------------------------------------------------------------------

    @router.post(
        "/v1/review/items",
        response_model=ReviewItemsOut,
        tags=["review"],
        summary="Queue flagged messages for moderator review",
        dependencies=[Depends(require_key)],
        responses={
            401: {"description": "Missing or wrong API key"},
            413: {"description": "Too many items"},
            422: {"description": "Malformed item"},
        },
    )
    def submit_items(body: ReviewItemsIn) -> Response:
        if len(body.items) > settings.max_items_per_request:
            return problem(
                413,
                "too-many-items",
                "Too many items",
                f"at most {settings.max_items_per_request} items per request",
            )
        new_items = [
            NewItem(
                source=i.source,
                external_id=i.external_id,
                text=i.text,
                scores=i.scores,
                spans=[s.model_dump() for s in i.spans],
                channel=i.channel,
                author=i.author,
                model_sha256=i.model_sha256,
                categories=i.categories,
                created_at=i.created_at,
            )
            for i in body.items
        ]
        try:
            results = queue.enqueue_many(new_items)
        except BadItemError as exc:
            return problem(422, "bad-item", "Malformed review item", str(exc))
        except ReviewError:
            return problem(503, "queue-unavailable", "The review queue is unavailable")
        out = ReviewItemsOut(
            items=[
                QueuedOut(id=rid, source=i.source, external_id=i.external_id, created=created)
                for (rid, created), i in zip(results, new_items)
            ],
            created=sum(created for _rid, created in results),
        )
        return JSONResponse(out.model_dump())

    return router


def _wants_json(request: Request) -> bool:
    return (
        "application/json" in request.headers.get("accept", "") or "x-csrf-token" in request.headers
    )
