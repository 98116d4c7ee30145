"""The app factory: settings -> verified model -> FastAPI app with routes, errors, metrics and logs."""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .deps import KeyRing, require_api_key
from .engine import ModelHolder
from .metrics import ServiceMetrics
from .problems import ProblemError, install_problem_handlers, render_problem
from .review_hook import attach_review
from .routes import admin, health, openai, perspective, score
from .schemas import build_schemas
from .settings import Settings

log = logging.getLogger("harassflag.service")

REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

DESCRIPTION = """Harassment scoring for moderation tools.

* `POST /v1/score`: native (every head, decisions, ids, explanations).
* `POST /v1/moderations`: OpenAI-compatible (`harassment`, `hate`).
* `POST /v1alpha1/comments:analyze`: Perspective-compatible (TOXICITY, INSULT, IDENTITY_ATTACK, PROFANITY).

Limits: body {body} bytes (413), {items} items per request (413), {chars} characters per text ({chars_rule}).
Errors are `application/problem+json` with a stable `type` (Perspective route: Google's error format).
Message text is never logged.
"""


def configure_logging(level: str = "info") -> None:
    """Send `harassflag.*` logs to stderr once (uvicorn configures its own loggers)."""
    logger = logging.getLogger("harassflag")
    logger.setLevel(level.upper())
    if not any(getattr(h, "_harassflag", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler._harassflag = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False


class RequestObserver:
    """Pure ASGI middleware: request id, metrics, one log line per request, last-resort 500."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics, log_requests: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        incoming = dict(scope.get("headers") or ()).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        scope["harassflag.request_id"] = request_id
        status = 500
        started = False

        async def send_observed(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                MutableHeaders(scope=message).append("x-request-id", request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        except Exception as exc:  # noqa: BLE001 - never let a traceback (which may quote input) reach the server log
            log.error("unhandled %s request_id=%s", type(exc).__name__, request_id)
            if not started:
                response = render_problem(Request(scope), ProblemError("internal-error", "internal error"))
                await response(scope, receive, send_observed)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            route_path = getattr(route, "path", None) or "<unmatched>"
            method = scope.get("method", "")
            self.metrics.observe_request(route_path, method, str(status), elapsed)
            if self.log_requests:
                log.info(
                    "request_id=%s method=%s route=%s status=%d items=%s flagged=%s latency_ms=%.2f",
                    request_id,
                    method,
                    route_path,
                    status,
                    scope.get("harassflag.items", "-"),
                    scope.get("harassflag.flagged", "-"),
                    elapsed * 1000.0,
                )


def _reload_on_sighup(app: FastAPI) -> None:
    try:
        app.state.holder.reload()
    except ProblemError as exc:
        log.warning("SIGHUP reload refused: %s", exc.slug)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Install the SIGHUP reload handler in the server process; stop background work at exit."""
    loop = asyncio.get_running_loop()
    installed = False
    if hasattr(signal, "SIGHUP") and threading.current_thread() is threading.main_thread():
        try:
            loop.add_signal_handler(
                signal.SIGHUP, lambda: loop.run_in_executor(None, _reload_on_sighup, app)
            )
            installed = True
        except (NotImplementedError, RuntimeError, ValueError):
            installed = False
    log.info(
        "serving model %s sha256=%s (SIGHUP reload %s)",
        app.state.holder.model.name,
        app.state.holder.model.sha256,
        "on" if installed else "off",
    )
    try:
        yield
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGHUP)
        app.state.holder.close()


def _openapi_with_request_models(app: FastAPI, models: list[Any]) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in models:
        js = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(js.pop("$defs", {}))
        components[model.__name__] = js
    components["Problem"] = {
        "type": "object",
        "title": "Problem",
        "description": "RFC 9457 problem details; `type` is stable per kind of error.",
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "request_id": {"type": "string"},
        },
        "required": ["type", "title", "status", "detail"],
    }
    app.openapi_schema = schema
    return schema


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service; loads and verifies the model first (a bad artifact stops start-up)."""
    from importlib.metadata import PackageNotFoundError, version

    settings = settings or Settings()
    try:
        app_version = version("harassflag")
    except PackageNotFoundError:
        app_version = "0"
    metrics = ServiceMetrics()
    holder = ModelHolder(
        settings.model,
        metrics,
        micro_batch=settings.micro_batch_max if settings.micro_batch else 0,
        batch_wait=settings.micro_batch_wait_ms / 1000.0,
    )
    holder.start()
    schemas = build_schemas(settings)
    description = DESCRIPTION.format(
        body=settings.max_body_bytes,
        items=settings.max_items,
        chars=settings.max_chars,
        chars_rule="longer texts are truncated" if settings.truncate_chars else "422 above",
    )
    app = FastAPI(
        title="harassflag",
        version=app_version,
        description=description,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.holder = holder
    app.state.metrics = metrics
    app.state.api_keys = KeyRing(settings.api_keys)
    app.state.admin_keys = KeyRing(settings.admin_keys)
    install_problem_handlers(app)
    app.include_router(health.build_router())
    app.include_router(score.build_router(schemas, settings))
    app.include_router(openai.build_router(schemas, settings))
    app.include_router(perspective.build_router(schemas, settings))
    app.include_router(admin.build_router())
    attach_review(app, settings, require_api_key)
    app.add_middleware(RequestObserver, metrics=metrics, log_requests=settings.log_requests)
    request_models = schemas.all() if settings.bench_echo else schemas.all()[:-1]
    app.openapi = lambda: _openapi_with_request_models(app, request_models)  # type: ignore[method-assign]
    return app


def create_app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` (multi-worker mode): settings come from HARASSFLAG_* only."""
    settings = Settings()
    configure_logging(settings.log_level)
    return create_app(settings)
