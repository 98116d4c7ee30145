"""harassflag: self-hosted harassment detection for people who moderate conversations.

    from harassflag import load_model
    model = load_model()
    model.score(["you are an idiot", "good game"])

Names are imported lazily so that `harassflag data ...` and other light commands start fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .artifact import load_model, save_model
    from .heads import HEADS
    from .model import Model, Score, Span

_EXPORTS = {
    "load_model": "harassflag.artifact",
    "save_model": "harassflag.artifact",
    "HEADS": "harassflag.heads",
    "Model": "harassflag.model",
    "Score": "harassflag.model",
    "Span": "harassflag.model",
}
__all__ = ["HEADS", "Model", "Score", "Span", "load_model", "save_model"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'harassflag' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
