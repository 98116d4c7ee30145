"""OpenAI-compatible `POST /v1/moderations` (the official `openai` client works unchanged).

Only categories we compute are reported: `harassment` and `hate` (plus `harassment/threatening` if
a model ever has a `threat` head). We never invent scores for OpenAI's other categories. `flagged`
follows OpenAI's meaning: true when any reported category is true.
"""

# No `from __future__ import annotations`: route signatures use per-app request models (locals).
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from starlette.responses import Response

from ..deps import json_body, note_items, request_body_doc, require_api_key, serving
from ..engine import Decisions, model_heads
from ..problems import ProblemError
from ..schemas import Schemas
from ..settings import Settings
from .common import PROBLEM_RESPONSES, json_response, truncate

# OpenAI category -> our head. Only those whose head the model has are reported.
OPENAI_CATEGORIES: dict[str, str] = {
    "harassment": "harassment",
    "harassment/threatening": "threat",
    "hate": "hate",
}


class ModerationResult(BaseModel):
    """One input's result."""

    flagged: bool
    categories: dict[str, bool]
    category_scores: dict[str, float]
    category_applied_input_types: dict[str, list[str]]


class ModerationResponse(BaseModel):
    """OpenAI moderation response."""

    id: str
    model: str
    results: list[ModerationResult]


def reported_categories(model: Any) -> list[tuple[str, int]]:
    """(OpenAI category, score-matrix column) for the heads this model has."""
    heads = model_heads(model)
    return [(cat, heads.index(head)) for cat, head in OPENAI_CATEGORIES.items() if head in heads]


def moderation_results(decisions: Decisions, columns: list[tuple[str, int]]) -> tuple[list[dict[str, Any]], int]:
    """OpenAI `results` as plain dicts (the shape of `ModerationResult`) and how many are flagged."""
    applied = {cat: ["text"] for cat, _ in columns}
    results = []
    flagged_total = 0
    for row, decided in zip(decisions.scores.tolist(), decisions.categories.tolist()):
        cats = {cat: decided[j] for cat, j in columns}
        flagged = any(cats.values())
        flagged_total += flagged
        results.append(
            {
                "flagged": flagged,
                "categories": cats,
                "category_scores": {cat: row[j] for cat, j in columns},
                "category_applied_input_types": applied,
            }
        )
    return results, flagged_total


def build_router(schemas: Schemas, settings: Settings) -> APIRouter:
    """The OpenAI-compatible route."""
    router = APIRouter(tags=["openai"], dependencies=[Depends(require_api_key)])
    ModerationRequest = schemas.moderation

    @router.post(
        "/v1/moderations",
        response_model=ModerationResponse,
        responses=PROBLEM_RESPONSES,
        openapi_extra=request_body_doc(ModerationRequest),
        summary="OpenAI-compatible moderation",
    )
    async def moderations(
        request: Request, body: Annotated[Any, Depends(json_body(ModerationRequest))]
    ) -> Response:
        """`{"input": str | [str | {"type": "text", "text": ...}]}` -> OpenAI's moderation response."""
        served = serving(request)
        model = served.model
        raw = [body.input] if isinstance(body.input, str) else body.input
        texts: list[str] = []
        for i, part in enumerate(raw):
            if isinstance(part, str):
                texts.append(part)
            elif getattr(part, "type", None) == "text":
                texts.append(part.text)
            else:
                raise ProblemError(
                    "unsupported-input", f"input[{i}]: only text inputs are supported by this model"
                )
        texts, _ = truncate(texts, settings.max_chars, settings.truncate_chars)
        holder = request.app.state.holder
        decisions = await holder.score(model, texts)
        results, flagged_total = moderation_results(decisions, reported_categories(model))
        holder.metrics.count_scored("openai", len(texts))
        note_items(request, len(texts), flagged_total)
        return json_response(
            {"id": f"modr-{uuid.uuid4().hex}", "model": served.summary["name"], "results": results},
            headers={"x-harassflag-model-sha256": served.summary["sha256"]},
        )

    return router
