"""Native endpoint `POST /v1/score`: every head, decisions, ids and (optionally) explanations."""

# No `from __future__ import annotations`: route signatures use per-app request models (locals).
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..deps import ModelDep, json_body, note_items, request_body_doc, require_api_key, serving
from ..engine import Decisions, model_summary
from ..review_hook import queue_for_review
from ..schemas import Schemas
from ..settings import Settings
from .common import PROBLEM_RESPONSES, json_response, truncate

log = logging.getLogger("harassflag.service")


class ModelInfo(BaseModel):
    """The model that produced a response."""

    name: str
    version: str
    sha256: str


class SpanOut(BaseModel):
    """A part of the text that pushed the explained head up (offsets into the text as sent)."""

    term: str
    start: int
    end: int
    weight: float = Field(description="Contribution to the head's log-odds.")


class MessageResult(BaseModel):
    """Result for one message."""

    id: str | None
    scores: dict[str, float]
    categories: dict[str, bool]
    flagged: bool
    truncated: bool = False
    spans: list[SpanOut] | None = None


class ReviewOutcome(BaseModel):
    """What the review hook did (present only when `review` was asked)."""

    queued: int
    available: bool
    detail: str | None = None


class ScoreResponse(BaseModel):
    """Native response."""

    model: ModelInfo
    thresholds: dict[str, float]
    explain_head: str | None = None
    results: list[MessageResult]
    review: ReviewOutcome | None = None


class ModelDescription(BaseModel):
    """The served model and the service limits."""

    model: ModelInfo
    heads: list[str]
    thresholds: dict[str, float]
    flag_heads: list[str]
    limits: dict[str, int | bool]


def message_results(
    ids: list[str | None], decisions: Decisions, cut: list[bool], spans: list[list[Any]] | None
) -> tuple[list[dict[str, Any]], int]:
    """`results` of a native response as JSON-ready dicts (`MessageResult`'s shape), and the flagged count."""
    heads = decisions.heads
    flags = decisions.flagged.tolist()
    results = [
        {"id": i, "scores": dict(zip(heads, s)), "categories": dict(zip(heads, c)), "flagged": f}
        for i, s, c, f in zip(ids, decisions.scores.tolist(), decisions.categories.tolist(), flags)
    ]
    if any(cut):
        for item, was_cut in zip(results, cut):
            if was_cut:
                item["truncated"] = True
    if spans is not None:
        for item, found in zip(results, spans):
            item["spans"] = [{"term": x.term, "start": x.start, "end": x.end, "weight": x.weight} for x in found]
    return results, flags.count(True)


def build_router(schemas: Schemas, settings: Settings) -> APIRouter:
    """Routes of the native API."""
    router = APIRouter(tags=["native"], dependencies=[Depends(require_api_key)])
    ScoreRequest = schemas.score

    @router.post(
        "/v1/score",
        response_model=ScoreResponse,
        responses=PROBLEM_RESPONSES,
        openapi_extra=request_body_doc(ScoreRequest),
        summary="Score one message or a batch",
    )
    async def score(request: Request, body: Annotated[Any, Depends(json_body(ScoreRequest))]) -> Response:
        """Every head's probability, per-head decisions, the overall flag, and optional spans."""
        served = serving(request)
        model = served.model
        holder = request.app.state.holder
        if body.messages is None:
            ids: list[str | None] = [None]
            texts = [body.text]
        else:
            ids = [m.id for m in body.messages]
            texts = [m.text for m in body.messages]
        texts, cut = truncate(texts, settings.max_chars, settings.truncate_chars)
        decisions = await holder.score(model, texts)
        spans = None
        if body.explain:
            spans = await run_in_threadpool(
                model.explain_batch, texts, head=body.explain_head, top=body.explain_top
            )
        results, n_flagged = message_results(ids, decisions, cut, spans)
        holder.metrics.count_scored("native", len(texts))
        note_items(request, len(texts), n_flagged)
        out: dict[str, Any] = {"model": served.summary, "thresholds": served.thresholds, "results": results}
        if body.explain:
            out["explain_head"] = body.explain_head
        if body.review or request.app.state.review_all_flagged:
            out["review"] = await run_in_threadpool(queue_for_review, request, model, ids, texts, decisions)
        return json_response(out, headers={"x-harassflag-model-sha256": served.summary["sha256"]})

    @router.get("/v1/model", response_model=ModelDescription, summary="The served model and limits")
    async def describe(model: ModelDep) -> Response:
        """Name, version, hash, heads, thresholds, flag policy and the request limits."""
        return json_response(
            {
                "model": model_summary(model),
                "heads": list(model.heads),
                "thresholds": model.thresholds,
                "flag_heads": list(model.flag_heads),
                "limits": {
                    "max_body_bytes": settings.max_body_bytes,
                    "max_items": settings.max_items,
                    "max_chars": settings.max_chars,
                    "truncate_chars": settings.truncate_chars,
                },
            }
        )

    if settings.bench_echo:
        EchoRequest = schemas.echo

        @router.post("/bench/echo", openapi_extra=request_body_doc(EchoRequest), include_in_schema=False)
        def echo(body: Annotated[Any, Depends(json_body(EchoRequest))]) -> Response:
            """No-op baseline for benchmarks: parse, validate and send back."""
            return json_response({"text": body.text})

    return router
