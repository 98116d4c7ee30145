"""Moderator review queue: storage, web page, and feedback for retraining.

Flagged messages are queued (`store.ReviewQueue`), moderators decide on them at `/review`
(`routes.build_review_router`), and their decisions become labelled rows (`feedback`).
"""

from __future__ import annotations

from .errors import ReviewError
from .settings import ReviewSettings
from .store import DECISIONS, STATUSES, NewItem, ReviewItem, ReviewQueue

__all__ = [
    "DECISIONS",
    "STATUSES",
    "NewItem",
    "ReviewError",
    "ReviewItem",
    "ReviewQueue",
    "ReviewSettings",
]
