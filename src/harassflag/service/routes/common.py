"""Helpers every scoring route shares: truncation, JSON responses, documented error responses."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import orjson
from starlette.responses import Response

from ..problems import PROBLEM_MEDIA_TYPE


def truncate(texts: list[str], max_chars: int, enabled: bool) -> tuple[list[str], list[bool]]:
    """Texts cut to `max_chars` when truncation is on, and which ones were cut."""
    if not enabled:
        return texts, [False] * len(texts)
    cut = [len(t) > max_chars for t in texts]
    return [t[:max_chars] if c else t for t, c in zip(texts, cut)], cut


def _numpy_scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dump_json(body: Any) -> bytes:
    """Compact UTF-8 JSON by orjson; what it refuses (lone surrogates, huge ints) goes ASCII-escaped."""
    try:
        return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(body, separators=(",", ":"), default=_numpy_scalar).encode("ascii")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A pre-serialised JSON response (the route's `response_model` documents its shape)."""
    return Response(dump_json(body), status_code=status, media_type="application/json", headers=headers)


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem("Malformed JSON or invalid UTF-8 (problem types malformed-json, invalid-utf8)"),
    401: _problem("Missing or invalid API key (unauthorized)"),
    413: _problem("Body or item count over the limit (body-too-large, too-many-items)"),
    415: _problem("Body is not JSON (unsupported-media-type)"),
    422: _problem("Schema violation or text over the limit (invalid-request, text-too-long)"),
}
