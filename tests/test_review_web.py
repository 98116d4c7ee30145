"""The review router served by real uvicorn processes: sign-in, cookies, CSRF, XSS, API, concurrency."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from harassflag.review.store import ItemFilter, ReviewQueue
from test_review_support import (
    MODERATORS,
    SCORING_KEY,
    csrf_from,
    item_payload,
    sign_in,
    start_server,
    wait_ready,
)

AUTH = {"Authorization": f"Bearer {SCORING_KEY}"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("review_web")
    srv = start_server(tmp, f"sqlite:///{tmp / 'review.db'}", HARASSFLAG_MAX_ITEMS_PER_REQUEST="50")
    yield srv
    srv.stop()


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.url, follow_redirects=False, timeout=10) as c:
        yield c


@pytest.fixture
def queue(server):
    q = ReviewQueue(server.database_url)
    yield q
    q.close()


def post_item(client: httpx.Client, external_id: str, **extra: object) -> int:
    response = client.post(
        "/v1/review/items", json={"items": [item_payload(external_id, **extra)]}, headers=AUTH
    )
    assert response.status_code == 200, response.text
    return response.json()["items"][0]["id"]


def set_cookie_headers(response: httpx.Response, name: str) -> list[str]:
    return [h for h in response.headers.get_list("set-cookie") if h.startswith(name + "=")]


def test_review_page_needs_a_session(client: httpx.Client) -> None:
    response = client.get("/review")
    assert response.status_code == 303 and response.headers["location"].endswith("/review/login")


def test_sign_in_sets_an_httponly_samesite_strict_cookie(client: httpx.Client) -> None:
    page = client.get("/review/login")
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    response = client.post(
        "/review/login",
        data={"name": "alice", "key": MODERATORS["alice"], "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 303
    (cookie,) = set_cookie_headers(response, "harassflag_review")
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/review"} <= flags
    assert "secure" not in flags  # not configured: served over plain HTTP here
    page = client.get("/review")
    assert page.status_code == 200 and "Signed in as <strong>alice</strong>" in page.text
    assert page.headers["cache-control"] == "no-store"


def test_secure_cookie_when_configured(tmp_path: Path) -> None:
    srv = start_server(
        tmp_path, f"sqlite:///{tmp_path / 'secure.db'}", HARASSFLAG_SECURE_COOKIES="true"
    )
    try:
        with httpx.Client(base_url=srv.url, follow_redirects=False) as c:
            page = c.get("/review/login")
            (login_cookie,) = set_cookie_headers(page, "harassflag_review_login")
            # A client does not send a Secure cookie over plain HTTP; hand it over as a browser on HTTPS would.
            response = c.post(
                "/review/login",
                data={"name": "bob", "key": MODERATORS["bob"], "csrf_token": csrf_from(page.text)},
                headers={"Cookie": login_cookie.split(";")[0]},
            )
            assert response.status_code == 303
            (cookie,) = set_cookie_headers(response, "harassflag_review")
        for header in (login_cookie, cookie):
            flags = {part.strip().lower() for part in header.split(";")[1:]}
            assert {"secure", "httponly", "samesite=strict"} <= flags
    finally:
        srv.stop()


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_sign_in_without_a_valid_csrf_token_is_403(client: httpx.Client, token: str | None) -> None:
    client.get("/review/login")
    data = {"name": "alice", "key": MODERATORS["alice"]}
    if token:
        data["csrf_token"] = token
    response = client.post("/review/login", data=data)
    assert response.status_code == 403
    assert not set_cookie_headers(response, "harassflag_review")


def test_wrong_key_is_refused(client: httpx.Client) -> None:
    page = client.get("/review/login")
    response = client.post(
        "/review/login",
        data={"name": "alice", "key": MODERATORS["bob"], "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 401 and "wrong key" in response.text
    assert not set_cookie_headers(response, "harassflag_review")
    assert client.get("/review").status_code == 303


def test_forged_session_cookie_is_ignored(server) -> None:
    with httpx.Client(base_url=server.url, follow_redirects=False) as c:
        c.cookies.set("harassflag_review", "eyJrIjoicyIsIm0iOiJhbGljZSJ9.deadbeef", path="/review")
        assert c.get("/review").status_code == 303


@pytest.mark.parametrize("token", [None, "", "not-the-token"])
def test_decision_without_a_valid_csrf_token_is_403(
    client: httpx.Client, queue: ReviewQueue, token: str | None
) -> None:
    item_id = post_item(client, f"csrf-{token}")
    sign_in(client)
    data = {"decision": "confirmed"}
    if token is not None:
        data["csrf_token"] = token
    response = client.post(f"/review/items/{item_id}/decision", data=data)
    assert response.status_code == 403
    response = client.post(
        f"/review/items/{item_id}/decision",
        data={"decision": "confirmed"},
        headers={"X-CSRF-Token": token or "x", "Accept": "application/json"},
    )
    assert response.status_code == 403
    assert response.json()["type"] == "urn:harassflag:problem:csrf"
    assert queue.get(item_id).status == "pending" and queue.audit_log(item_id) == []


def test_another_sessions_csrf_token_is_refused(server, queue: ReviewQueue) -> None:
    with (
        httpx.Client(base_url=server.url, follow_redirects=False) as a,
        httpx.Client(base_url=server.url, follow_redirects=False) as b,
    ):
        item_id = post_item(a, "cross-session")
        sign_in(a, "alice")
        token_b = sign_in(b, "bob")
        response = a.post(
            f"/review/items/{item_id}/decision",
            data={"decision": "dismissed", "csrf_token": token_b},
        )
        assert response.status_code == 403
    assert queue.get(item_id).status == "pending"


def test_form_decision_redirects_and_is_audited(client: httpx.Client, queue: ReviewQueue) -> None:
    item_id = post_item(client, "form-decision")
    token = sign_in(client, "bob")
    response = client.post(
        f"/review/items/{item_id}/decision",
        data={
            "decision": "escalated",
            "csrf_token": token,
            "note": "threat?",
            "return_to": "https://evil.example/",
        },
    )
    assert response.status_code == 303 and response.headers["location"] == "/review"
    item = queue.get(item_id)
    assert (item.status, item.decided_by, item.note) == ("escalated", "bob", "threat?")
    (entry,) = queue.audit_log(item_id)
    assert (
        entry.actor == "bob"
        and entry.before["status"] == "pending"
        and entry.after["status"] == "escalated"
    )
    assert f'id="item-{item_id}"' not in client.get("/review").text


def test_script_decision_returns_json_with_counts(client: httpx.Client, queue: ReviewQueue) -> None:
    item_id = post_item(client, "json-decision")
    token = sign_in(client)
    response = client.post(
        f"/review/items/{item_id}/decision",
        data={"decision": "dismissed"},
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "dismissed" and body["decided_by"] == "alice"
    assert body["counts"] == queue.counts_by_status()
    bad = client.post(
        f"/review/items/{item_id}/decision",
        data={"decision": "delete"},
        headers={"X-CSRF-Token": token},
    )
    assert bad.status_code == 422
    missing = client.post(
        "/review/items/987654/decision",
        data={"decision": "dismissed"},
        headers={"X-CSRF-Token": token},
    )
    assert missing.status_code == 404


def test_bulk_decision(client: httpx.Client, queue: ReviewQueue) -> None:
    ids = [post_item(client, f"bulk-{i}") for i in range(3)]
    token = sign_in(client)
    response = client.post(
        "/review/items/bulk-decision",
        data={
            "decision": "confirmed",
            "ids": [str(i) for i in ids[:2]],
            "csrf_token": token,
            "return_to": "/review?sort=newest",
        },
    )
    assert response.status_code == 303 and response.headers["location"] == "/review?sort=newest"
    assert [queue.get(i).status for i in ids] == ["confirmed", "confirmed", "pending"]
    assert len(queue.audit_log(ids[0])) == 1


def test_page_escapes_message_text_and_highlights_spans(client: httpx.Client) -> None:
    text = '<script>alert("x")</script> you idiot <img src=x onerror=alert(1)>'
    item_id = post_item(
        client,
        "xss",
        text=text,
        author='<b onmouseover="alert(2)">eve</b>',
        channel="</h2><script>alert(3)</script>",
    )
    sign_in(client)
    html = client.get("/review", params={"sort": "newest"}).text
    article = re.search(
        rf'<article class="item" id="item-{item_id}".*?</article>', html, re.DOTALL
    ).group(0)
    assert (
        "<script>alert" not in article and "<img" not in article and "<b onmouseover" not in article
    )
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; you " in article
    assert '<mark title="idiot (1.50)">idiot</mark>' in article
    assert "&lt;img src=x onerror=alert(1)&gt;" in article
    assert "&lt;b onmouseover=&#34;alert(2)&#34;&gt;eve&lt;/b&gt;" in article
    assert html.count("<script") == 1  # only the page's own script file


def test_filters_narrow_the_page(client: httpx.Client) -> None:
    post_item(client, "filter-a", channel="alpha-room", author="ann")
    post_item(client, "filter-b", channel="beta-room", author="ben")
    sign_in(client)
    html = client.get("/review", params={"channel": "alpha-room"}).text
    assert "alpha-room" in html and "ben" not in re.sub(
        r"<select.*?</select>", "", html, flags=re.DOTALL
    )
    assert "1</span> pending item match" in html


def test_logout_ends_the_session(client: httpx.Client) -> None:
    token = sign_in(client)
    assert client.post("/review/logout", data={}).status_code == 403
    response = client.post("/review/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert client.get("/review").status_code == 303


def test_api_needs_a_scoring_key(client: httpx.Client) -> None:
    body = {"items": [item_payload("auth-check")]}
    assert client.post("/v1/review/items", json=body).status_code == 401
    assert (
        client.post(
            "/v1/review/items", json=body, headers={"Authorization": "Bearer wrong"}
        ).status_code
        == 401
    )
    assert (
        client.post(
            "/v1/review/items", json=body, headers={"x-api-key": MODERATORS["alice"]}
        ).status_code
        == 401
    )  # moderator keys are not scoring keys
    ok = client.post("/v1/review/items", json=body, headers={"x-api-key": SCORING_KEY})
    assert ok.status_code == 200 and ok.json()["created"] == 1
    again = client.post("/v1/review/items", json=body, headers=AUTH)
    assert (
        again.json()["created"] == 0
        and again.json()["items"][0]["id"] == ok.json()["items"][0]["id"]
    )


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"items": []}, 422),
        ({"items": [item_payload("x", scores={"harassment": 3})]}, 422),
        ({"items": [item_payload("x", spans=[{"term": "a", "start": 0, "end": 999}])]}, 422),
        ({"items": [item_payload("x", unknown_field=1)]}, 422),
        ({"items": [item_payload(f"many-{i}") for i in range(51)]}, 413),
    ],
)
def test_api_rejects_malformed_or_oversized_requests(
    client: httpx.Client, queue: ReviewQueue, body: dict, status: int
) -> None:
    before = queue.count(ItemFilter(status=None))
    response = client.post("/v1/review/items", json=body, headers=AUTH)
    assert response.status_code == status
    assert queue.count(ItemFilter(status=None)) == before


def test_two_server_processes_on_one_sqlite_file_lose_nothing(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'shared.db'}"
    # Both start on the same empty file at once: the migration must run exactly once.
    servers = [start_server(tmp_path / f"s{n}", database_url, wait=False) for n in range(2)]
    try:
        for srv in servers:
            wait_ready(srv)
        errors: list[str] = []
        lock = threading.Lock()

        local = threading.local()

        def send(url: str, n: int) -> None:
            clients = local.__dict__.setdefault("clients", {})
            c = clients.setdefault(url, httpx.Client(base_url=url, timeout=30))
            r = c.post(
                "/v1/review/items", json={"items": [item_payload(f"{url}-{n}")]}, headers=AUTH
            )
            if r.status_code != 200 or r.json()["created"] != 1:
                with lock:
                    errors.append(f"{r.status_code} {r.text[:200]}")

        with ThreadPoolExecutor(max_workers=16) as pool:
            list(
                pool.map(
                    lambda job: send(*job), [(srv.url, n) for n in range(200) for srv in servers]
                )
            )
        assert errors == []
        queue = ReviewQueue(database_url)
        try:
            assert queue.count(ItemFilter(status=None)) == 400
            assert len({i.external_id for i in queue.list_items(limit=1000)}) == 400
        finally:
            queue.close()
    finally:
        for srv in servers:
            srv.stop()
