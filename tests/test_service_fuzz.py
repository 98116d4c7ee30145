"""Schemathesis against the live server's `/openapi.json`: no generated request may produce a 5xx.

Bounded and reproducible for CI: a fixed number of cases per POST route and generation mode
(schema-conforming and schema-violating bodies), derandomized Hypothesis, no example database,
no shrinking, and a wall-clock budget. Cases are sent with a valid API key so they reach the
handlers; every response goes through schemathesis' `not_a_server_error` check and failures are
collected (not raised one by one) so a single run reports all of them.

The last test points the same harness at a throwaway app that answers 500 to prove it can fail.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import requests
import schemathesis
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pydantic import BaseModel
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup

from service_helpers import API_KEY, Server, free_port, start_server

# Routes a client posts to; the review route is mounted by `--review` (fuzzed when present).
POST_ROUTES = ("/v1/score", "/v1/moderations", "/v1alpha1/comments:analyze", "/v1/review/items")
MIN_CASES = 1_000
CASES_PER_MODE = 140  # x 2 modes x 4 routes = 1,120 cases (+ STEERED_CASES below)
BUDGET_SECONDS = 150.0  # whole fuzz test; the file must stay under 3 minutes on a busy 2-core box
AUTH = {"Authorization": f"Bearer {API_KEY}"}
REQUEST_TIMEOUT = 30.0  # seconds per request; a hang counts as a failure


PERSPECTIVE_ATTRIBUTES = ("TOXICITY", "INSULT", "IDENTITY_ATTACK", "PROFANITY")
HEADS = ("harassment", "hate", "offensive")


def steer_perspective(strategy):
    """Schema-valid Perspective cases that also ask for attributes and a language we serve.

    Unsteered, almost every valid case names an attribute or language we refuse (400), so the
    scoring path behind the route would hardly be exercised.
    """
    attrs = st.sets(st.sampled_from(PERSPECTIVE_ATTRIBUTES), min_size=1)
    langs = st.sampled_from([None, ["en"], ["en-US"]])

    def apply(parts):
        case, chosen, languages = parts
        if isinstance(case.body, dict):
            case.body["requestedAttributes"] = {a: {} for a in sorted(chosen)}
            if languages is None:
                case.body.pop("languages", None)
            else:
                case.body["languages"] = languages
        return case

    return st.tuples(strategy, attrs, langs).map(apply)


def steer_review(strategy):
    """Schema-valid review items whose scores are head names with probabilities (else 422)."""
    scores = st.dictionaries(st.sampled_from(HEADS), st.floats(0.0, 1.0), min_size=1)

    def apply(parts):
        case, chosen = parts
        if isinstance(case.body, dict):
            for item in case.body.get("items") or []:
                if isinstance(item, dict):
                    item["scores"] = dict(chosen)
                    item["spans"] = []
                    item.pop("categories", None)
        return case

    return st.tuples(strategy, scores).map(apply)


STEERED = {"/v1alpha1/comments:analyze": steer_perspective, "/v1/review/items": steer_review}
STEERED_CASES = 70  # x 2 routes = 140 more cases that reach the model / the queue


class OutOfTime(Exception):
    """The wall-clock budget ran out before every case was sent."""


@dataclass
class FuzzReport:
    """What one fuzzing run sent and what went wrong."""

    sent: int = 0
    by_route: dict[str, int] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)
    route_statuses: dict[str, dict[int, int]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    out_of_time: bool = False


def fuzz_operation(
    operation,
    mode: GenerationMode,
    cases: int,
    session: requests.Session,
    base_url: str,
    report: FuzzReport,
    deadline: float,
    steer=None,
) -> None:
    """Send up to `cases` generated requests for one operation; record 5xx failures in `report`."""
    route = f"{operation.method.upper()} {operation.path}"
    strategy = operation.as_strategy(generation_mode=mode)
    if steer is not None:
        strategy = steer(strategy)

    @hypothesis_settings(
        max_examples=cases,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(case=strategy)
    def send(case) -> None:
        if time.monotonic() > deadline:
            raise OutOfTime(route)
        try:
            response = case.call(
                base_url=base_url, session=session, headers=AUTH, timeout=REQUEST_TIMEOUT
            )
        except requests.RequestException as exc:  # a dropped connection is a server failure too
            report.failures.append(f"{route} [{mode}]: {type(exc).__name__}")
            report.sent += 1
            return
        report.sent += 1
        report.by_route[route] = report.by_route.get(route, 0) + 1
        report.statuses[response.status_code] = report.statuses.get(response.status_code, 0) + 1
        mine = report.route_statuses.setdefault(route, {})
        mine[response.status_code] = mine.get(response.status_code, 0) + 1
        try:
            case.validate_response(response, checks=[not_a_server_error], headers=AUTH)
        except (FailureGroup, Failure, AssertionError) as exc:
            body = repr(case.body)[:200]
            report.failures.append(
                f"{route} [{mode}] -> {response.status_code}: {type(exc).__name__}; body={body}"
            )

    try:
        send()
    except OutOfTime:
        report.out_of_time = True


def fuzz(base_url: str, routes: tuple[str, ...], cases_per_mode: int, budget: float) -> FuzzReport:
    """Fuzz every POST route of `routes` that the live schema documents, both generation modes."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    report = FuzzReport()
    deadline = time.monotonic() + budget
    with requests.Session() as session:
        for path in routes:
            try:
                operation = schema[path]["POST"]
            except (KeyError, LookupError):
                continue
            runs = [
                (GenerationMode.POSITIVE, cases_per_mode, None),
                (GenerationMode.NEGATIVE, cases_per_mode, None),
            ]
            if path in STEERED:
                runs.append((GenerationMode.POSITIVE, STEERED_CASES, STEERED[path]))
            for mode, cases, steer in runs:
                fuzz_operation(operation, mode, cases, session, base_url, report, deadline, steer)
                if report.out_of_time:
                    return report
    return report


@pytest.fixture(scope="module")
def fuzz_server(tiny_model_dir: Path, tmp_path_factory) -> Server:
    """The real service with the review queue mounted (SQLite in a temp dir), request log off."""
    tmp = tmp_path_factory.mktemp("fuzz")
    server = start_server(
        tiny_model_dir,
        tmp / "server.log",
        "--review",
        "--no-request-log",
        env={"HARASSFLAG_DATABASE_URL": f"sqlite:///{tmp / 'review.db'}"},
    )
    yield server
    server.stop()


def test_schema_documents_every_post_route(fuzz_server: Server):
    spec = httpx.get(f"{fuzz_server.url}/openapi.json", timeout=10).json()
    for path in POST_ROUTES:
        assert "post" in spec["paths"].get(path, {}), f"{path} is not in /openapi.json"


def test_fuzz_post_routes_never_answer_5xx(fuzz_server: Server):
    started = time.monotonic()
    report = fuzz(fuzz_server.url, POST_ROUTES, CASES_PER_MODE, BUDGET_SECONDS)
    elapsed = time.monotonic() - started
    summary = f"{report.sent} cases in {elapsed:.0f}s, statuses by route {report.route_statuses}"
    print(summary)
    assert not report.failures, f"{len(report.failures)} server errors ({summary}):\n" + "\n".join(
        report.failures[:20]
    )
    assert not report.out_of_time, f"the {BUDGET_SECONDS:.0f}s budget ran out ({summary})"
    assert report.sent >= MIN_CASES, summary
    assert set(report.by_route) == {f"POST {p}" for p in POST_ROUTES}, summary
    for route, statuses in report.route_statuses.items():
        assert any(400 <= s < 500 for s in statuses), f"{route}: no case was refused ({summary})"
        assert statuses.get(200, 0) > 0, f"{route}: no case got through ({summary})"
    assert fuzz_server.process.poll() is None, "the server died during fuzzing"


# -- the harness itself must be able to fail ----------------------------------------------------


class Echo(BaseModel):
    """Body of the throwaway route."""

    text: str


def broken_app() -> FastAPI:
    """A route that answers 500 to any text longer than three characters."""
    app = FastAPI()

    @app.post("/v1/score")
    def score(body: Echo) -> dict[str, str]:
        if len(body.text) > 3:
            raise RuntimeError("boom")
        return {"text": body.text}

    return app


def test_harness_reports_a_route_that_answers_500():
    port = free_port()
    config = uvicorn.Config(broken_app(), host="127.0.0.1", port=port, log_level="critical")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, "the throwaway server did not start"
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        report = fuzz(f"http://127.0.0.1:{port}", ("/v1/score",), 30, 30.0)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert report.sent > 0
    assert report.failures, f"no 5xx found; statuses {report.statuses}"
    assert all("-> 500" in f for f in report.failures if "->" in f)
