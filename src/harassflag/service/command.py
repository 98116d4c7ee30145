"""`harassflag serve`: run the scoring service with uvicorn."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from .settings import Settings

FACTORY = "harassflag.service.app:create_app_from_env"


def _settings_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = ".".join(str(p) for p in err.get("loc", ()))
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "invalid settings: " + "; ".join(parts)


@click.command()
@click.option("--model", "model", type=click.Path(path_type=Path), default=None,
              help="Model directory (default: $HARASSFLAG_MODEL, then models/default).")
@click.option("--host", default=None, help="Address to listen on [127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [8000]; 0 picks a free one.")
@click.option("--workers", type=int, default=None, help="Worker processes [1] (uvicorn multi-process).")
@click.option("--api-key-file", type=click.Path(path_type=Path), default=None,
              help="File of API keys, one per line (or HARASSFLAG_API_KEYS=k1,k2).")
@click.option("--allow-anonymous", is_flag=True, default=None,
              help="Serve without API keys on a non-loopback address.")
@click.option("--max-body-bytes", type=int, default=None, help="Largest request body [1 MiB] (413).")
@click.option("--max-items", type=int, default=None, help="Messages per request [256] (413).")
@click.option("--max-chars", type=int, default=None, help="Characters per text [20000] (422).")
@click.option("--truncate-chars", is_flag=True, default=None, help="Cut long texts instead of refusing them.")
@click.option("--review", is_flag=True, default=None, help="Mount the moderator review queue.")
@click.option("--log-level", default=None, help="critical, error, warning, info [info] or debug.")
@click.option("--no-request-log", "log_requests", flag_value=False, default=None,
              help="Do not log one line per request.")
def serve(**options: Any) -> None:
    """Run the scoring service (native, OpenAI- and Perspective-compatible endpoints)."""
    import uvicorn

    from .app import configure_logging, create_app

    overrides = {k: v for k, v in options.items() if v is not None}
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise click.ClickException(_settings_error(exc)) from None
    configure_logging(settings.log_level)
    common: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "access_log": False,  # uvicorn's access log would write query strings (?key=) to the log
        "log_level": settings.log_level.lower(),
        "server_header": False,
        "proxy_headers": False,
    }
    if settings.workers == 1:
        uvicorn.run(create_app(settings), **common)
        return
    # Workers are separate processes that build the app from the environment: pass the flags on.
    for name, value in overrides.items():
        env_name = f"HARASSFLAG_{name.upper()}"
        os.environ[env_name] = ("1" if value else "0") if isinstance(value, bool) else str(value)
    from ..artifact import load_model

    load_model(settings.model)  # fail here, once, with a clear message, rather than in every worker
    uvicorn.run(FACTORY, factory=True, workers=settings.workers, **common)
