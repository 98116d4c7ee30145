"""Perspective-compatible `POST /v1alpha1/comments:analyze`.

Attribute mapping (our heads -> Perspective attributes):

- `INSULT` <- `harassment`: Perspective defines INSULT as an insulting, inflammatory or negative
  comment towards a person or group; our harassment head is trained on exactly such attacks.
- `IDENTITY_ATTACK` <- `hate`: negative or hateful comments targeting someone because of identity.
- `PROFANITY` <- `offensive`: swear words, obscene or otherwise profane language.
- `TOXICITY` <- max(`harassment`, `hate`, `offensive`): Perspective's TOXICITY is the umbrella
  ("rude, disrespectful or unreasonable") whose sub-attributes are the three above, so a comment
  that is an insult or an identity attack without profanity is still toxic. Taking `offensive`
  alone would miss polite-sounding hate; the maximum is a lower bound of the probability that any
  of them holds, and never invents a signal we do not compute.

Anything else (`THREAT`, `SEVERE_TOXICITY`, `SEXUALLY_EXPLICIT`, ...) is a 400 in Google's error
format, as are languages other than English: no made-up scores. Without `languages`, English is
assumed (we do not detect languages). `scoreThreshold` omits attributes scoring below it, like
Perspective. `spanAnnotations` adds `spanScores` built from `model.explain`: each span is a term of
the original text (`begin`/`end` are character offsets into `comment.text`) that pushed the
attribute's head up, scored by the same head on that span alone. `doNotStore` is honoured
trivially: this route never stores or logs comments.
"""

# No `from __future__ import annotations`: route signatures use per-app request models (locals).
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..deps import json_body, note_items, request_body_doc, require_api_key_or_query, serving
from ..engine import model_heads
from ..problems import ProblemError
from ..schemas import Schemas
from ..settings import Settings
from .common import json_response, truncate

ATTRIBUTE_HEADS: dict[str, tuple[str, ...]] = {
    "TOXICITY": ("harassment", "hate", "offensive"),
    "INSULT": ("harassment",),
    "IDENTITY_ATTACK": ("hate",),
    "PROFANITY": ("offensive",),
}
SUPPORTED_LANGUAGES = ("en",)


class ScoreValue(BaseModel):
    """A Perspective score."""

    value: float
    type: str = "PROBABILITY"


class SpanScore(BaseModel):
    """Score of a part of the comment (`begin`/`end`: character offsets)."""

    begin: int
    end: int
    score: ScoreValue


class AttributeScore(BaseModel):
    """Per-attribute result."""

    summaryScore: ScoreValue
    spanScores: list[SpanScore] | None = None


class AnalyzeCommentResponse(BaseModel):
    """Perspective response."""

    attributeScores: dict[str, AttributeScore]
    languages: list[str]
    clientToken: str | None = None


class GoogleError(BaseModel):
    """Google API error body."""

    error: dict[str, Any]


def is_supported_language(tag: str) -> bool:
    """`en`, `en-US`, `en_GB`... (ISO 639 / BCP-47, primary subtag)."""
    return tag.replace("_", "-").split("-", 1)[0].strip().lower() in SUPPORTED_LANGUAGES


def build_router(schemas: Schemas, settings: Settings) -> APIRouter:
    """The Perspective-compatible route."""
    router = APIRouter(tags=["perspective"], dependencies=[Depends(require_api_key_or_query)])
    AnalyzeRequest = schemas.analyze
    errors = {
        status: {"description": desc, "model": GoogleError}
        for status, desc in (
            (400, "Invalid argument: unknown attribute, unsupported language, malformed body"),
            (401, "Missing or invalid key"),
            (413, "Body too large"),
        )
    }

    @router.post(
        "/v1alpha1/comments:analyze",
        response_model=AnalyzeCommentResponse,
        responses=errors,
        openapi_extra=request_body_doc(AnalyzeRequest),
        summary="Perspective-compatible analysis",
    )
    async def analyze(request: Request, body: Annotated[Any, Depends(json_body(AnalyzeRequest))]) -> Response:
        """Perspective's `comments:analyze` for TOXICITY, INSULT, IDENTITY_ATTACK and PROFANITY."""
        model = serving(request).model
        heads = model_heads(model)
        requested = body.requestedAttributes
        for name in requested:
            mapped = ATTRIBUTE_HEADS.get(name)
            if mapped is None or not all(h in heads for h in mapped):
                supported = ", ".join(a for a, hs in ATTRIBUTE_HEADS.items() if all(h in heads for h in hs))
                raise ProblemError(
                    "unsupported-attribute",
                    f"Unknown attribute: {name}. This server computes: {supported}",
                    status=400,
                )
        languages = list(body.languages or [])
        unsupported = [lang for lang in languages if not is_supported_language(lang)]
        if unsupported:
            raise ProblemError(
                "unsupported-language",
                f"Attribute {next(iter(requested))} does not support request languages: "
                + ",".join(languages),
            )
        texts, _ = truncate([body.comment.text], settings.max_chars, settings.truncate_chars)
        text = texts[0]
        holder = request.app.state.holder
        decisions = await holder.score(model, [text])
        row = decisions.scores[0].tolist()
        attribute_scores: dict[str, Any] = {}
        for name, params in requested.items():
            cols = [heads.index(h) for h in ATTRIBUTE_HEADS[name]]
            best = max(cols, key=lambda c: row[c])
            value = row[best]
            threshold = params.scoreThreshold if params is not None else None
            if threshold is not None and value < threshold:
                continue
            entry: dict[str, Any] = {"summaryScore": {"value": value, "type": "PROBABILITY"}}
            if body.spanAnnotations:
                entry["spanScores"] = await run_in_threadpool(
                    span_scores, model, text, heads[best], settings.explain_top
                )
            attribute_scores[name] = entry
        holder.metrics.count_scored("perspective", 1)
        note_items(request, 1, int(decisions.flagged[0]))
        out: dict[str, Any] = {"attributeScores": attribute_scores, "languages": languages or ["en"]}
        if body.clientToken is not None:
            out["clientToken"] = body.clientToken
        return json_response(out)

    return router


def span_scores(model: Any, text: str, head: str, top: int) -> list[dict[str, Any]]:
    """`spanScores` for `head`: explained spans in text order, each scored on its own."""
    spans = sorted(model.explain(text, head=head, top=top), key=lambda s: s.start)
    if not spans:
        return []
    column = model_heads(model).index(head)
    matrix = model.score_matrix([text[s.start : s.end] for s in spans])
    return [
        {"begin": s.start, "end": s.end, "score": {"value": float(matrix[i][column]), "type": "PROBABILITY"}}
        for i, s in enumerate(spans)
    ]
