"""Typed exceptions. The CLI turns them into messages and exit codes, the service into problem JSON."""

from __future__ import annotations


class HarassflagError(Exception):
    """Base class of every error harassflag raises on purpose."""

    exit_code = 1


class DatasetError(HarassflagError):
    """A dataset is unknown, missing, or its file could not be read."""

    exit_code = 3


class ChecksumError(DatasetError):
    """A downloaded or mirrored file does not match its registered SHA-256."""


class DownloadError(DatasetError):
    """A download failed or was interrupted; nothing was left behind."""


class BadInputError(HarassflagError):
    """Input rows were malformed (and --strict was asked, or nothing usable remained)."""

    exit_code = 4


class ModelError(HarassflagError):
    """A model artifact is missing or unusable."""

    exit_code = 5


class ModelIntegrityError(ModelError):
    """The artifact's SHA-256 does not match its manifest: it is never unpickled."""


class ModelVersionError(ModelError):
    """The artifact was saved under another scikit-learn version."""
