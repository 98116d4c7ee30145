"""Batch scoring of exported chats: readers → model → writer, streaming and resumable."""

from .messages import Message

__all__ = ["Message"]
