"""Pre-serialised responses match their documented schemas; micro-batching keeps every row its own."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from pydantic import BaseModel, ValidationError

from harassflag.artifact import load_model
from harassflag.heads import HEADS
from harassflag.service.routes.admin import ReloadResponse
from harassflag.service.routes.openai import ModerationResponse
from harassflag.service.routes.perspective import AnalyzeCommentResponse
from harassflag.service.routes.score import ModelDescription, ScoreResponse
from harassflag.service.settings import Settings
from service_helpers import ADMIN_KEY, API_KEY, start_server

PERSPECTIVE = "/v1alpha1/comments:analyze"
TEXTS = [
    "sam you are a loser",
    "great game everyone, see you tomorrow",
    "all women are stupid and should leave",
    "thanks for the help with the release",
    "shut up idiot nobody asked you",
    "this game is fucking broken",
    "the build is green again",
]


@pytest.fixture(scope="module")
def server(tiny_model_dir, tmp_path_factory):
    # A small batch limit: concurrent requests are merged, and bigger ones are scored alone; a
    # longer gathering wait than the default so that the busy path surely runs.
    log_path = tmp_path_factory.mktemp("service-responses") / "server.log"
    env = {"HARASSFLAG_MICRO_BATCH_MAX": "4", "HARASSFLAG_MICRO_BATCH_WAIT_MS": "5"}
    srv = start_server(tiny_model_dir, log_path, env=env)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    return load_model(tiny_model_dir)


def assert_conforms(schema: type[BaseModel], response: httpx.Response) -> dict:
    """The body is exactly what `schema` documents: no extra keys, no coerced types."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    parsed = schema.model_validate(body, strict=True)
    assert parsed.model_dump(mode="json", exclude_unset=True) == body
    return body


def documented_schema(spec: dict, path: str, method: str = "post") -> str:
    content = spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]
    return content["schema"]["$ref"].rsplit("/", 1)[-1]


def test_openapi_documents_the_response_models(server):
    spec = httpx.get(f"{server.url}/openapi.json").json()
    assert documented_schema(spec, "/v1/score") == "ScoreResponse"
    assert documented_schema(spec, "/v1/moderations") == "ModerationResponse"
    assert documented_schema(spec, PERSPECTIVE) == "AnalyzeCommentResponse"
    assert documented_schema(spec, "/v1/model", "get") == "ModelDescription"
    assert documented_schema(spec, "/admin/reload") == "ReloadResponse"


def test_native_responses_match_the_schema(server, model):
    with server.client() as c:
        single = assert_conforms(ScoreResponse, c.post("/v1/score", json={"text": TEXTS[0]}))
        assert single["thresholds"] == pytest.approx(model.thresholds)
        batch = c.post(
            "/v1/score",
            json={"messages": [{"id": f"m{i}", "text": t} for i, t in enumerate(TEXTS[:3])], "explain": True},
        )
        body = assert_conforms(ScoreResponse, batch)
        assert all(isinstance(r["spans"], list) for r in body["results"])
        reviewed = assert_conforms(ScoreResponse, c.post("/v1/score", json={"text": "hi", "review": True}))
        assert reviewed["review"]["available"] is False
        assert_conforms(ModelDescription, c.get("/v1/model"))


def test_moderation_and_perspective_responses_match_the_schema(server):
    with server.client() as c:
        body = assert_conforms(ModerationResponse, c.post("/v1/moderations", json={"input": TEXTS[:2]}))
        assert re.fullmatch(r"modr-[0-9a-f]{32}", body["id"])
        request = {
            "comment": {"text": TEXTS[2]},
            "requestedAttributes": {"TOXICITY": {}, "IDENTITY_ATTACK": {}},
            "spanAnnotations": True,
            "clientToken": "tok",
        }
        assert_conforms(AnalyzeCommentResponse, c.post(PERSPECTIVE, json=request))


def test_reload_response_matches_the_schema(server):
    r = httpx.post(f"{server.url}/admin/reload", headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=60)
    body = assert_conforms(ReloadResponse, r)
    assert body["changed"] is False


def test_non_ascii_ids_come_back_as_sent(server):
    ident = "caf\u00e9-\u2713-\U0001f4a9"
    with server.client() as c:
        r = c.post("/v1/score", json={"messages": [{"id": ident, "text": "na\u00efve \U0001f600 loser"}]})
    body = assert_conforms(ScoreResponse, r)
    assert body["results"][0]["id"] == ident
    assert ident.encode("utf-8") in r.content  # compact UTF-8, not \u escapes


def test_concurrent_requests_each_get_their_own_rows(server, model):
    """Merged model calls (and requests above the batch limit) still answer each request alone."""
    jobs = [
        [TEXTS[(k + j) % len(TEXTS)] for j in range(1 + k % 6)]  # 1 to 6 texts; the limit is 4
        for k in range(48)
    ]
    metrics_before = httpx.get(f"{server.url}/metrics").text

    def post(texts: list[str]) -> tuple[list[str], dict]:
        with server.client() as c:
            r = c.post("/v1/score", json={"messages": [{"id": f"{len(texts)}-{i}", "text": t} for i, t in enumerate(texts)]})
            assert r.status_code == 200, r.text
            return texts, r.json()

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(post, jobs))
    flagged = dict.fromkeys(HEADS, 0)
    for texts, body in answers:
        expected = model.score(texts)
        assert [r["id"] for r in body["results"]] == [f"{len(texts)}-{i}" for i in range(len(texts))]
        for result, exp in zip(body["results"], expected):
            assert result["scores"] == pytest.approx(exp.scores)
            assert result["categories"] == exp.categories
            assert result["flagged"] == exp.flagged
            for head in HEADS:
                flagged[head] += exp.categories[head]
    metrics_after = httpx.get(f"{server.url}/metrics").text
    n_texts = sum(len(t) for t in jobs)

    def delta(pattern: str) -> float:
        def value(text: str) -> float:
            found = re.search(pattern + r" ([0-9.e+]+)", text)
            return float(found.group(1)) if found else 0.0

        return value(metrics_after) - value(metrics_before)

    assert delta(r'harassflag_messages_scored_total\{api="native"\}') == n_texts
    assert delta(r"harassflag_model_batch_size_sum") == n_texts
    assert 1 <= delta(r"harassflag_model_batch_size_count") <= len(jobs)
    for head, count in flagged.items():
        assert delta(rf'harassflag_messages_flagged_total\{{head="{head}"\}}') == count


@pytest.mark.parametrize("wait", [-1, 51])
def test_batch_wait_is_bounded(wait):
    with pytest.raises(ValidationError):
        Settings(micro_batch_wait_ms=wait)


def test_scoring_without_micro_batching(tiny_model_dir, tmp_path, model):
    srv = start_server(tiny_model_dir, tmp_path / "server.log", env={"HARASSFLAG_MICRO_BATCH": "0"})
    try:
        with srv.client() as c:
            body = assert_conforms(ScoreResponse, c.post("/v1/score", json={"messages": [{"text": t} for t in TEXTS]}))
            moderation = assert_conforms(ModerationResponse, c.post("/v1/moderations", json={"input": TEXTS[0]}))
        for result, exp in zip(body["results"], model.score(TEXTS)):
            assert result["scores"] == pytest.approx(exp.scores)
        assert moderation["results"][0]["flagged"] == model.score(TEXTS[0])[0].flagged
    finally:
        srv.stop()
    assert API_KEY not in srv.log_text()
