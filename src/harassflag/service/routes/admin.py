"""Admin routes: `POST /admin/reload` verifies the artifact on disk and swaps it in.

The artifact is always re-read from the configured model path: a caller cannot point the server
at another file (loading a pickle runs code, so where it comes from is not an API parameter).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from starlette.responses import Response

from ..deps import require_admin_key
from ..engine import model_summary
from .common import PROBLEM_RESPONSES, json_response
from .score import ModelInfo


class ReloadResponse(BaseModel):
    """Outcome of a successful reload."""

    status: str
    previous: ModelInfo | None
    model: ModelInfo
    changed: bool


def build_router() -> APIRouter:
    """Admin routes (admin key required)."""
    router = APIRouter(tags=["admin"], dependencies=[Depends(require_admin_key)])

    @router.post(
        "/admin/reload",
        response_model=ReloadResponse,
        responses={
            **PROBLEM_RESPONSES,
            403: PROBLEM_RESPONSES[401] | {"description": "No admin key configured (admin-disabled)"},
            409: PROBLEM_RESPONSES[401] | {"description": "New artifact failed verification (model-reload-failed)"},
        },
        summary="Reload the model from disk",
    )
    def reload(request: Request) -> Response:
        """Verify the artifact on disk and swap it in; on failure the old model keeps serving."""
        old, new = request.app.state.holder.reload()
        return json_response(
            {
                "status": "reloaded",
                "previous": model_summary(old) if old is not None else None,
                "model": model_summary(new),
                "changed": old is None or old.sha256 != new.sha256,
            }
        )

    return router
