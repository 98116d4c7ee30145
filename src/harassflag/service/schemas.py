"""Request bodies, built per app so that their limits (and the OpenAPI document) follow the settings.

Response bodies are static classes in the route modules; they only document the shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..heads import HEADS
from .settings import Settings

HeadName = Literal["harassment", "hate", "offensive"]
assert set(HeadName.__args__) == set(HEADS)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Schemas:
    """The request models of one app."""

    score: type[BaseModel]
    moderation: type[BaseModel]
    analyze: type[BaseModel]
    echo: type[BaseModel]

    def all(self) -> list[type[BaseModel]]:
        """Every request model (for the OpenAPI components)."""
        return [self.score, self.moderation, self.analyze, self.echo]


def build_schemas(settings: Settings) -> Schemas:
    """Request models whose limits are this app's settings."""
    if settings.truncate_chars:
        text_doc = f"Message text; longer than {settings.max_chars} characters is cut to that length."
        TextStr = Annotated[str, Field(description=text_doc)]
    else:
        text_doc = f"Message text, at most {settings.max_chars} characters (422 above)."
        TextStr = Annotated[str, Field(max_length=settings.max_chars, description=text_doc)]
    IdStr = Annotated[str, Field(max_length=settings.max_id_chars)]
    Short = Annotated[str, Field(max_length=256)]
    items_doc = f"At most {settings.max_items} items (413 above)."

    class MessageIn(BaseModel):
        """One message to score."""

        model_config = ConfigDict(extra="forbid")
        id: IdStr | None = Field(default=None, description="Your id, echoed in the result.")
        text: TextStr

    class ScoreRequest(BaseModel):
        """Native request: `text` for one message, or `messages` for several (not both)."""

        model_config = ConfigDict(extra="forbid")
        text: TextStr | None = None
        messages: (
            Annotated[list[MessageIn], Field(min_length=1, max_length=settings.max_items, description=items_doc)]
            | None
        ) = None
        explain: bool = Field(default=False, description="Add the terms that drove each score.")
        explain_head: HeadName = Field(default="harassment", description="Head whose weights explain.")
        explain_top: int = Field(default=settings.explain_top, ge=1, le=50)
        review: bool = Field(
            default=False,
            description=(
                "Also put flagged messages in the moderator review queue (only when the review "
                "package is installed; the response says whether anything was queued)."
            ),
        )

        @model_validator(mode="after")
        def _one_of_text_or_messages(self) -> ScoreRequest:
            if (self.text is None) == (self.messages is None):
                raise ValueError("give exactly one of `text` or `messages`")
            return self

    class TextPart(BaseModel):
        """OpenAI multi-modal input: a text part."""

        type: Literal["text"]
        text: TextStr

    class ImageUrlPart(BaseModel):
        """OpenAI multi-modal input: an image (refused: this model reads text only)."""

        type: Literal["image_url"]
        image_url: Any = None

    Part = Annotated[TextPart | ImageUrlPart, Field(discriminator="type")]

    class ModerationRequest(BaseModel):
        """OpenAI `POST /v1/moderations` body."""

        model_config = ConfigDict(extra="ignore")
        input: TextStr | Annotated[list[TextStr | Part], Field(min_length=1, max_length=settings.max_items, description=items_doc)]
        model: Short | None = Field(default=None, description="Accepted and ignored: one model is served.")

    class PerspectiveText(BaseModel):
        """Perspective `comment`."""

        model_config = ConfigDict(extra="ignore")
        text: TextStr
        type: Literal["PLAIN_TEXT"] | None = None

    class AttributeParameters(BaseModel):
        """Perspective per-attribute options."""

        model_config = ConfigDict(extra="ignore")
        scoreType: Literal["PROBABILITY"] | None = None
        scoreThreshold: Annotated[float, Field(ge=0.0, le=1.0)] | None = None

    class AnalyzeCommentRequest(BaseModel):
        """Perspective `comments:analyze` body (fields we do not use are accepted and ignored)."""

        model_config = ConfigDict(extra="ignore")
        comment: PerspectiveText
        requestedAttributes: Annotated[
            dict[Annotated[str, Field(max_length=64)], AttributeParameters | None],
            Field(min_length=1, max_length=32),
        ]
        languages: Annotated[list[Annotated[str, Field(max_length=35)]], Field(max_length=16)] | None = None
        doNotStore: bool = False
        spanAnnotations: bool = False
        clientToken: Short | None = None
        sessionId: Short | None = None
        communityId: Short | None = None

    class EchoRequest(BaseModel):
        """Benchmark baseline body."""

        text: TextStr

    return Schemas(score=ScoreRequest, moderation=ModerationRequest, analyze=AnalyzeCommentRequest, echo=EchoRequest)
