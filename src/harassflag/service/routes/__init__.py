"""One router per API flavour: native score, OpenAI-compatible, Perspective-compatible, admin, health."""
