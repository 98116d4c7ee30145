"""harassflag: self-hosted harassment detection for people who moderate conversations.

    from harassflag import load_model
    model = load_model()
    model.score(["you are an idiot", "good game"])
"""

from .artifact import load_model, save_model
from .heads import HEADS
from .model import Model, Score, Span

__all__ = ["HEADS", "Model", "Score", "Span", "load_model", "save_model"]
