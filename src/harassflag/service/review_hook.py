"""HOOK: the moderator review queue (`harassflag.review`), wired only when it is installed and enabled.

`POST /v1/score` accepts `"review": true` at all times (it is part of the documented schema). The
flagged messages of such a request are queued only when `HARASSFLAG_REVIEW=1` (or `serve --review`)
and the review package imports; otherwise the response says `available: false` and nothing is kept.
The Perspective route never queues anything (its `doNotStore` promise holds trivially), and neither
does the OpenAI route. The review package owns its router, storage and moderator authentication.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request

from .engine import Decisions
from .settings import Settings

log = logging.getLogger("harassflag.service")

REVIEW_SOURCE = "api"


def attach_review(app: FastAPI, settings: Settings, api_key_dependency: Any) -> None:
    """Mount the review router and keep its queue on `app.state.review_queue` (if enabled)."""
    app.state.review_queue = None
    app.state.review_all_flagged = False
    if not settings.review:
        return
    try:
        from ..review import ReviewSettings
        from ..review.routes import build_review_router
    except ImportError as exc:
        log.warning("review queue requested but not available (%s)", type(exc).__name__)
        return
    review_settings = ReviewSettings()
    router = build_review_router(review_settings, api_key_dependency=api_key_dependency)
    app.include_router(router)
    app.state.review_queue = getattr(router, "review_queue", None)
    app.state.review_all_flagged = bool(getattr(review_settings, "queue_all_flagged", False))


def queue_for_review(
    request: Request, model: Any, ids: list[str | None], texts: list[str], decisions: Decisions
) -> dict[str, Any]:
    """Queue the flagged messages of a native request; returns the `review` member of the response."""
    queue = request.app.state.review_queue
    if queue is None:
        return {"queued": 0, "available": False, "detail": "the review queue is not enabled on this server"}
    from ..review import NewItem
    from ..review.store import derive_external_id

    heads = decisions.heads
    items = []
    for i, text in enumerate(texts):
        if not decisions.flagged[i]:
            continue
        top_head = heads[int(decisions.scores[i].argmax())]
        spans = [
            {"term": s.term, "start": s.start, "end": s.end, "weight": s.weight}
            for s in model.explain(text, head=top_head, top=8)
        ]
        items.append(
            NewItem(
                source=REVIEW_SOURCE,
                external_id=ids[i] if ids[i] else derive_external_id(text),
                text=text,
                scores={h: float(decisions.scores[i][j]) for j, h in enumerate(heads)},
                categories={h: bool(decisions.categories[i][j]) for j, h in enumerate(heads)},
                spans=spans,
                model_sha256=str(model.sha256),
            )
        )
    if not items:
        return {"queued": 0, "available": True}
    created = queue.enqueue_many(items)
    return {"queued": sum(1 for _, new in created if new), "available": True}
