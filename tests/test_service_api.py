"""The scoring service over HTTP: a real `harassflag serve` subprocess on a free loopback port."""

from __future__ import annotations

import re

import httpx
import openai
import pytest

from harassflag.artifact import load_model
from harassflag.heads import HEADS
from service_helpers import ADMIN_KEY, API_KEY, start_server

MAX_ITEMS = 5
MAX_CHARS = 200
MAX_BODY = 4096
PROBLEM = "application/problem+json"
MARKER = "zqxvjk-private-marker-93517"
POST_ROUTES = ["/v1/score", "/v1/moderations", "/v1alpha1/comments:analyze"]
PERSPECTIVE = "/v1alpha1/comments:analyze"


@pytest.fixture(scope="module")
def server(tiny_model_dir, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("service-api") / "server.log"
    srv = start_server(
        tiny_model_dir,
        log_path,
        "--max-items", str(MAX_ITEMS),
        "--max-chars", str(MAX_CHARS),
        "--max-body-bytes", str(MAX_BODY),
    )
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    return load_model(tiny_model_dir)


@pytest.fixture()
def client(server):
    with server.client() as c:
        yield c


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["type"] == f"https://harassflag.dev/problems/{slug}"
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def assert_google_error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    err = response.json()["error"]
    assert err["code"] == status and err["message"]
    return err


# -- native -------------------------------------------------------------------------------------


def test_native_single_message(client, model):
    r = client.post("/v1/score", json={"text": "sam you are a loser"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == {"name": model.name, "version": model.version, "sha256": model.sha256}
    assert r.headers["x-harassflag-model-sha256"] == model.sha256
    (result,) = body["results"]
    expected = model.score("sam you are a loser")[0]
    assert result["id"] is None
    assert set(result["scores"]) == set(HEADS)
    assert result["scores"] == pytest.approx(expected.scores)
    assert result["categories"] == expected.categories
    assert result["flagged"] is expected.flagged is True
    assert "spans" not in result


def test_native_batch_keeps_ids_order_and_explains(client, model):
    texts = ["great game sam", "alex you are a pathetic idiot", "all women are stupid and should leave"]
    r = client.post(
        "/v1/score",
        json={"messages": [{"id": f"m{i}", "text": t} for i, t in enumerate(texts)], "explain": True},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["explain_head"] == "harassment"
    assert [x["id"] for x in body["results"]] == ["m0", "m1", "m2"]
    for text, result, expected in zip(texts, body["results"], model.score(texts)):
        assert result["scores"] == pytest.approx(expected.scores)
        assert result["flagged"] == expected.flagged
        for span in result["spans"]:
            assert text[span["start"] : span["end"]] == span["term"]
            assert span["weight"] > 0
    assert body["results"][1]["flagged"] is True
    assert any(s["term"] in ("pathetic", "idiot") for s in body["results"][1]["spans"])


def test_native_explain_other_head(client):
    r = client.post("/v1/score", json={"text": "all women are stupid", "explain": True, "explain_head": "hate"})
    assert r.status_code == 200
    assert r.json()["explain_head"] == "hate"


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"text": "a", "messages": [{"text": "b"}]},
        {"messages": []},
        {"text": 5},
        {"messages": [{"txt": "typo"}]},
        {"text": "a", "explain_head": "threat"},
    ],
)
def test_native_schema_violations_are_422(client, payload):
    assert_problem(client.post("/v1/score", json=payload), 422, "invalid-request")


def test_review_hook_reports_unavailable_without_queue(client):
    r = client.post("/v1/score", json={"text": "sam you are a loser", "review": True})
    assert r.status_code == 200
    assert r.json()["review"] == {
        "queued": 0,
        "available": False,
        "detail": "the review queue is not enabled on this server",
    }


def test_model_description_lists_limits(client, model):
    body = client.get("/v1/model").json()
    assert body["model"]["sha256"] == model.sha256
    assert body["limits"] == {
        "max_body_bytes": MAX_BODY, "max_items": MAX_ITEMS, "max_chars": MAX_CHARS, "truncate_chars": False
    }


# -- OpenAI ---------------------------------------------------------------------------------------


def test_official_openai_client_works_unchanged(server, model):
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=API_KEY, max_retries=0)
    texts = ["sam you are a loser", "see you tomorrow", "all women are stupid and should leave"]
    response = client.moderations.create(input=texts)
    assert re.fullmatch(r"modr-[0-9a-f]{32}", response.id)
    assert response.model == model.name
    assert len(response.results) == 3
    expected = model.score(texts)
    for result, exp in zip(response.results, expected):
        assert result.categories.harassment == exp.categories["harassment"]
        assert result.categories.hate == exp.categories["hate"]
        assert result.category_scores.harassment == pytest.approx(exp.scores["harassment"])
        assert result.category_scores.hate == pytest.approx(exp.scores["hate"])
        assert result.flagged == (exp.categories["harassment"] or exp.categories["hate"])
        raw = result.model_dump(by_alias=True, exclude_unset=True)
        assert set(raw["categories"]) == {"harassment", "hate"}  # no invented categories
        assert raw["category_applied_input_types"] == {"harassment": ["text"], "hate": ["text"]}
    assert response.results[0].flagged is True and response.results[1].flagged is False
    single = client.moderations.create(input="sam you are a loser", model="omni-moderation-latest")
    assert len(single.results) == 1 and single.results[0].flagged


def test_openai_client_sees_auth_error(server):
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="wrong-key-123456", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        client.moderations.create(input=["hello"])
    assert "invalid API key" in str(info.value)


def test_openai_multimodal_text_parts_and_image_refused(client):
    ok = client.post("/v1/moderations", json={"input": [{"type": "text", "text": "sam you are a loser"}]})
    assert ok.status_code == 200 and ok.json()["results"][0]["flagged"] is True
    img = client.post(
        "/v1/moderations", json={"input": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}
    )
    body = assert_problem(img, 400, "unsupported-input")
    assert body["error"]["code"] == "unsupported-input"


# -- Perspective ------------------------------------------------------------------------------------


def test_perspective_round_trip_with_span_annotations(server, model):
    text = "all women are stupid and should leave"
    request = {
        "comment": {"text": text, "type": "PLAIN_TEXT"},
        "requestedAttributes": {"TOXICITY": {}, "INSULT": {}, "IDENTITY_ATTACK": {}, "PROFANITY": {}},
        "languages": ["en"],
        "doNotStore": True,
        "spanAnnotations": True,
        "clientToken": "tok-1",
    }
    r = httpx.post(f"{server.url}{PERSPECTIVE}", params={"key": API_KEY}, json=request)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["clientToken"] == "tok-1"
    assert body["languages"] == ["en"]
    scores = model.score(text)[0].scores
    attrs = body["attributeScores"]
    assert set(attrs) == {"TOXICITY", "INSULT", "IDENTITY_ATTACK", "PROFANITY"}
    for attr in attrs.values():
        assert attr["summaryScore"]["type"] == "PROBABILITY"
        assert 0.0 <= attr["summaryScore"]["value"] <= 1.0
    assert attrs["INSULT"]["summaryScore"]["value"] == pytest.approx(scores["harassment"])
    assert attrs["IDENTITY_ATTACK"]["summaryScore"]["value"] == pytest.approx(scores["hate"])
    assert attrs["PROFANITY"]["summaryScore"]["value"] == pytest.approx(scores["offensive"])
    assert attrs["TOXICITY"]["summaryScore"]["value"] == pytest.approx(max(scores.values()))
    spans = attrs["IDENTITY_ATTACK"]["spanScores"]
    assert spans, "a hateful comment has explained spans"
    for span in spans:
        assert 0 <= span["begin"] < span["end"] <= len(text)
        assert text[span["begin"] : span["end"]].strip()
        assert span["score"]["type"] == "PROBABILITY" and 0 <= span["score"]["value"] <= 1
    assert [s["begin"] for s in spans] == sorted(s["begin"] for s in spans)


def test_perspective_without_span_annotations_and_threshold(server):
    request = {
        "comment": {"text": "see you tomorrow"},
        "requestedAttributes": {"TOXICITY": {"scoreThreshold": 0.99}, "INSULT": {"scoreType": "PROBABILITY"}},
    }
    r = httpx.post(f"{server.url}{PERSPECTIVE}", params={"key": API_KEY}, json=request)
    assert r.status_code == 200, r.text
    attrs = r.json()["attributeScores"]
    assert set(attrs) == {"INSULT"}  # TOXICITY is below its threshold, so omitted
    assert "spanScores" not in attrs["INSULT"]


def test_perspective_unknown_attribute_is_google_400(server):
    r = httpx.post(
        f"{server.url}{PERSPECTIVE}",
        params={"key": API_KEY},
        json={"comment": {"text": "hello"}, "requestedAttributes": {"TOXICITY": {}, "THREAT": {}}},
    )
    err = assert_google_error(r, 400)
    assert err["status"] == "INVALID_ARGUMENT"
    assert "THREAT" in err["message"]


def test_perspective_non_english_is_google_400(server):
    r = httpx.post(
        f"{server.url}{PERSPECTIVE}",
        params={"key": API_KEY},
        json={"comment": {"text": "bonjour"}, "requestedAttributes": {"TOXICITY": {}}, "languages": ["fr"]},
    )
    err = assert_google_error(r, 400)
    assert err == {
        "code": 400,
        "message": "Attribute TOXICITY does not support request languages: fr",
        "status": "INVALID_ARGUMENT",
    }
    ok = httpx.post(
        f"{server.url}{PERSPECTIVE}",
        params={"key": API_KEY},
        json={"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}, "languages": ["en-GB"]},
    )
    assert ok.status_code == 200


def test_perspective_auth_errors_are_google_shaped(server):
    body = {"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}}
    err = assert_google_error(httpx.post(f"{server.url}{PERSPECTIVE}", json=body), 401)
    assert err["status"] == "UNAUTHENTICATED"
    assert_google_error(httpx.post(f"{server.url}{PERSPECTIVE}", params={"key": "nope-nope-nope"}, json=body), 401)
    too_long = {"comment": {"text": "x" * (MAX_CHARS + 1)}, "requestedAttributes": {"TOXICITY": {}}}
    r = httpx.post(f"{server.url}{PERSPECTIVE}", params={"key": API_KEY}, json=too_long)
    assert assert_google_error(r, 400)["status"] == "INVALID_ARGUMENT"


# -- auth -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", POST_ROUTES[:2])
def test_missing_and_wrong_keys_are_401(server, route):
    body = {"text": "hi"} if route == "/v1/score" else {"input": "hi"}
    missing = httpx.post(f"{server.url}{route}", json=body)
    assert_problem(missing, 401, "unauthorized")
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = httpx.post(f"{server.url}{route}", json=body, headers={"Authorization": "Bearer wrong-key-42"})
    assert_problem(wrong, 401, "unauthorized")
    wrong_header = httpx.post(f"{server.url}{route}", json=body, headers={"x-api-key": API_KEY + "x"})
    assert_problem(wrong_header, 401, "unauthorized")


def test_bearer_and_x_api_key_work_and_query_key_only_for_perspective(server):
    body = {"text": "hi"}
    assert httpx.post(f"{server.url}/v1/score", json=body, headers={"Authorization": f"Bearer {API_KEY}"}).status_code == 200
    assert httpx.post(f"{server.url}/v1/score", json=body, headers={"x-api-key": API_KEY}).status_code == 200
    assert_problem(httpx.post(f"{server.url}/v1/score", params={"key": API_KEY}, json=body), 401, "unauthorized")
    # the admin key is not a scoring key, and a scoring key is not an admin key
    assert_problem(httpx.post(f"{server.url}/v1/score", json=body, headers={"x-api-key": ADMIN_KEY}), 401, "unauthorized")
    assert_problem(
        httpx.post(f"{server.url}/admin/reload", headers={"x-api-key": API_KEY}), 401, "unauthorized"
    )


# -- limits -----------------------------------------------------------------------------------------


def test_body_too_large_with_content_length(client):
    r = client.post("/v1/score", json={"text": "x" * (MAX_BODY + 10)})
    assert_problem(r, 413, "body-too-large")


def test_body_too_large_chunked_without_content_length(client):
    def chunks():
        yield b'{"text": "'
        for _ in range(20):
            yield b"a" * 512
        yield b'"}'

    r = client.post("/v1/score", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    assert_problem(r, 413, "body-too-large")


def test_small_chunked_body_is_fine(client):
    r = client.post("/v1/score", content=iter([b'{"text": ', b'"hello"}']), headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text


def test_too_many_items_is_413(client):
    many = [{"text": "hi"}] * (MAX_ITEMS + 1)
    assert_problem(client.post("/v1/score", json={"messages": many}), 413, "too-many-items")
    assert_problem(client.post("/v1/moderations", json={"input": ["hi"] * (MAX_ITEMS + 1)}), 413, "too-many-items")
    assert client.post("/v1/score", json={"messages": [{"text": "hi"}] * MAX_ITEMS}).status_code == 200


def test_text_too_long_is_422(client):
    assert_problem(client.post("/v1/score", json={"text": "x" * (MAX_CHARS + 1)}), 422, "text-too-long")
    assert_problem(
        client.post("/v1/moderations", json={"input": ["ok", "y" * (MAX_CHARS + 1)]}), 422, "text-too-long"
    )
    assert client.post("/v1/score", json={"text": "x" * MAX_CHARS}).status_code == 200


def test_form_content_type_is_refused(client):
    r = client.post("/v1/score", content=b'{"text": "hi"}', headers={"content-type": "text/plain"})
    assert_problem(r, 415, "unsupported-media-type")


NASTY_BODIES: list[bytes] = [
    b"",
    b"null",
    b"[]",
    b'"just a string"',
    b"{",
    b'{"text": "\xff\xfe\xfd"}',
    b"\xef\xbb\xbf{}",
    b'{"text": "\\ud800"}',
    b'{"text": "\\udfff\\ud800x"}',
    b'{"input": ["\\ud83d"]}',
    b'{"text": "nul\\u0000byte", "input": "nul\\u0000", "comment": {"text": "\\u0000"}, "requestedAttributes": {"TOXICITY": {}}}',
    b"[" * 1500 + b"]" * 1500,
    b"[" * 5000 + b"]" * 5000,
    b'{"text": ' + b"[" * 1500 + b"]" * 1500 + b"}",
    b'{"text": 1' + b"0" * 5000 + b"}",
    b'{"text": 1e99999, "input": -1e99999}',
    b'{"text": NaN, "input": Infinity}',
    b'{"text": true, "input": false, "comment": null}',
    b'{"messages": [null, 1, "x", {"text": null}]}',
    b'{"messages": {"text": "x"}}',
    b'{"input": [[["deep"]]]}',
    b'{"input": [{"type": "text"}]}',
    b'{"input": [{"type": "audio", "audio": "x"}]}',
    b'{"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": 5}}',
    b'{"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {"scoreThreshold": 7}}}',
    b'{"comment": {"text": "hi"}, "requestedAttributes": {}}',
    b'{"comment": {"text": "hi"}, "requestedAttributes": {"\\ud800": {}}}',
    b'{"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}, "languages": "en"}',
    b'{"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}, "languages": [""]}',
    b'{"comment": {"text": "hi", "type": "HTML"}, "requestedAttributes": {"TOXICITY": {}}}',
    b'{"text": "a", "text": "b"}',
    b'{"text": "' + "\u202e\u0301\U0001f4a9".encode() * 20 + b'"}',
    b'{"input": "' + b"\\u0000" * 100 + b'"}',
    b'{"text": "ok"} trailing',
    "{\"text\": \"caf\u00e9\"}".encode("latin-1"),
]


@pytest.mark.parametrize("route", POST_ROUTES)
def test_nasty_bodies_never_cause_5xx(server, route):
    statuses = []
    with server.client() as c:
        for raw in NASTY_BODIES:
            for ctype in ("application/json", None):
                headers = {"content-type": ctype} if ctype else {}
                r = c.post(route, content=raw, params={"key": API_KEY}, headers=headers)
                statuses.append(r.status_code)
                assert r.status_code < 500, (raw[:80], r.status_code, r.text[:300])
                if r.status_code >= 400:
                    if route == PERSPECTIVE:
                        assert "error" in r.json()
                    else:
                        assert r.headers["content-type"].startswith(PROBLEM)
                        assert r.json()["type"].startswith("https://harassflag.dev/problems/")
    assert any(s >= 400 for s in statuses)
    # the server survived all of it
    assert c_ok(server)


def c_ok(server) -> bool:
    with server.client() as c:
        return c.post("/v1/score", json={"text": "still alive"}).status_code == 200


def test_specific_nasty_bodies_get_specific_problem_types(client):
    bad_utf8 = client.post("/v1/score", content=b'{"text": "\xff"}', headers={"content-type": "application/json"})
    assert_problem(bad_utf8, 400, "invalid-utf8")
    lone = client.post("/v1/score", content=b'{"text": "\\ud800"}', headers={"content-type": "application/json"})
    assert_problem(lone, 400, "invalid-utf8")
    deep = client.post("/v1/score", content=b"[" * 1000, headers={"content-type": "application/json"})
    assert_problem(deep, 400, "malformed-json")
    assert_problem(client.post("/v1/score", content=b"{", headers={"content-type": "application/json"}), 400, "malformed-json")
    nul = client.post("/v1/score", json={"text": "a\u0000b"})
    assert nul.status_code == 200


# -- health, metrics, docs, unknown routes ---------------------------------------------------------


def test_health_and_readiness(server, model):
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{server.url}/readyz").json()
    assert ready["status"] == "ready" and ready["model"]["sha256"] == model.sha256


def test_metrics_exposition(server, model):
    with server.client() as c:
        assert c.post("/v1/score", json={"messages": [{"text": "sam you are a loser"}, {"text": "hi"}]}).status_code == 200
        c.post("/v1/score", json={})
    text = httpx.get(f"{server.url}/metrics").text
    assert re.search(r'harassflag_http_requests_total\{method="POST",route="/v1/score",status="200"\} \d', text)
    assert re.search(r'harassflag_http_requests_total\{method="POST",route="/v1/score",status="422"\} \d', text)
    assert 'harassflag_http_request_duration_seconds_bucket{le="0.005",route="/v1/score",status="200"}' in text
    assert re.search(r'harassflag_messages_scored_total\{api="native"\} [1-9]', text)
    assert re.search(r'harassflag_messages_flagged_total\{head="harassment"\} [1-9]', text)
    assert f'sha256="{model.sha256}"' in text and "harassflag_model_info{" in text


def test_unknown_route_and_method_are_problems(server):
    assert_problem(httpx.get(f"{server.url}/nope"), 404, "not-found")
    assert_problem(httpx.get(f"{server.url}/v1/score"), 405, "method-not-allowed")


def test_openapi_describes_real_limits_and_docs_served(server):
    spec = httpx.get(f"{server.url}/openapi.json").json()
    schemas = spec["components"]["schemas"]
    score_req = schemas["ScoreRequest"]
    messages = next(v for v in score_req["properties"]["messages"]["anyOf"] if v.get("type") == "array")
    assert messages["maxItems"] == MAX_ITEMS
    assert schemas["MessageIn"]["properties"]["text"]["maxLength"] == MAX_CHARS
    ref = spec["paths"]["/v1/score"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/ScoreRequest"
    assert "AnalyzeCommentRequest" in schemas and "ModerationRequest" in schemas
    assert f"{MAX_BODY} bytes" in spec["info"]["description"]
    docs = httpx.get(f"{server.url}/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


# -- privacy -------------------------------------------------------------------------------------


def test_logs_never_contain_message_text(server):
    with server.client() as c:
        c.post("/v1/score", json={"messages": [{"id": "p1", "text": f"{MARKER} you are a loser"}], "explain": True})
        c.post("/v1/score", json={"text": MARKER * 20})  # too long: 422
        c.post("/v1/moderations", json={"input": [MARKER]})
        c.post(
            PERSPECTIVE,
            params={"key": API_KEY},
            json={"comment": {"text": MARKER}, "requestedAttributes": {MARKER.upper(): {}}},
        )
        c.post(PERSPECTIVE, params={"key": API_KEY}, json={"comment": {"text": MARKER}, "requestedAttributes": {"TOXICITY": {}}, "spanAnnotations": True})
        c.post("/v1/score", content=f'{{"text": "{MARKER}'.encode(), headers={"content-type": "application/json"})
    httpx.get(f"{server.url}/readyz")
    log = server.log_text()
    assert "request_id=" in log and "route=/v1/score" in log and "latency_ms=" in log
    assert MARKER not in log and MARKER.upper() not in log
    assert API_KEY not in log  # ?key= query strings are not logged either
