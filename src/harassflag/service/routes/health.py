"""Liveness, readiness and Prometheus metrics (no key needed: they carry no message data)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from ..engine import model_summary
from ..problems import ProblemError
from .common import json_response


def build_router() -> APIRouter:
    """Health and metrics routes."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="The process is up")
    async def healthz() -> Response:
        """Always 200 while the server answers."""
        return json_response({"status": "ok"})

    @router.get("/readyz", summary="A verified model is loaded")
    async def readyz(request: Request) -> Response:
        """200 with the model's identity when a verified model is serving, else 503."""
        holder = request.app.state.holder
        model = holder.model
        if model is None:
            raise ProblemError("model-not-ready", "no verified model is loaded")
        return json_response({"status": "ready", "model": model_summary(model), "loaded_at": holder.loaded_at})

    @router.get("/metrics", summary="Prometheus metrics")
    def metrics(request: Request) -> Response:
        """Requests and latency by route and status, messages scored, flagged by head, model info."""
        m = request.app.state.metrics
        return Response(m.exposition(), media_type=m.content_type)

    return router
