"""The scoring service: native, OpenAI-compatible and Perspective-compatible endpoints.

`create_app(settings)` builds the app; `harassflag serve` runs it with uvicorn.
"""
