"""Typed errors of the review queue."""

from __future__ import annotations

from ..errors import BadInputError, HarassflagError


class ReviewError(HarassflagError):
    """The review queue could not do what was asked (database, configuration)."""

    exit_code = 6


class ReviewConfigError(ReviewError):
    """Review settings are invalid (e.g. a malformed moderator key list)."""


class SchemaError(ReviewError):
    """The database schema is newer than this code, or a migration failed."""


class ItemNotFoundError(ReviewError):
    """No review item has the given id."""

    exit_code = 4


class BadItemError(BadInputError):
    """A submitted review item or feedback row is malformed."""
