"""Oversized and odd requests through the gateway on the native stack: always the JSON error shape.

gunicorn's own refusals used to be HTML (a 10 KB header got its 431 page); the service's
gunicorn now has explicit limits, and what it still refuses itself is answered in JSON too.
"""

from __future__ import annotations

import re
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shoplab.runtime.stack import Stack

pytestmark = pytest.mark.e2e

TEN_KB = "k" * 10 * 1024


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.service_url("gateway") + "/api/v1", timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def auth(api: httpx.Client) -> dict[str, str]:
    resp = api.post("/auth/signup", json={"email": f"edge-{uuid.uuid4().hex[:12]}@example.test",
                                          "password": "correct horse battery", "name": "Edge"})
    assert resp.status_code == 201, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def _json_error(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text[:300]
    assert resp.headers["content-type"].startswith("application/json"), resp.text[:300]
    err: dict[str, Any] = resp.json()["error"]
    assert {"code", "message", "request_id"} <= set(err)
    return err


def test_a_10_kb_authorization_header_is_a_json_401(api: httpx.Client) -> None:
    _json_error(api.get("/cart", headers={"Authorization": "Bearer " + TEN_KB}), 401)


def test_a_10_kb_idempotency_key_is_a_json_400(api: httpx.Client, auth: dict[str, str]) -> None:
    err = _json_error(api.post("/checkout", json={}, headers={**auth, "Idempotency-Key": TEN_KB}), 400)
    assert "Idempotency-Key" in err["message"]


def test_a_10_kb_request_id_is_replaced_by_a_fresh_one(api: httpx.Client) -> None:
    resp = api.get("/products", headers={"X-Request-ID": TEN_KB})
    assert resp.status_code == 200, resp.text[:300]
    assert re.fullmatch(r"[0-9a-f]{32}", resp.headers["X-Request-ID"])


def _send_raw(url: str, request_line: str) -> httpx.Response:
    # httpx refuses a URL component over 64 KB, so this request goes out on a bare socket.
    parsed = httpx.URL(url)
    with socket.create_connection((parsed.host, parsed.port or 80), timeout=30) as sock:
        sock.sendall(f"{request_line}\r\nHost: {parsed.host}\r\nConnection: close\r\n\r\n".encode())
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return httpx.Response(int(status_line.split()[1]), headers=headers, content=body)


def test_a_100_kb_request_line_is_a_json_414(stack: Stack) -> None:
    resp = _send_raw(stack.service_url("gateway"), f"GET /api/v1/products?q={'x' * 100 * 1024} HTTP/1.1")
    _json_error(resp, 414)


def test_a_control_character_in_a_sign_up_is_a_json_422(api: httpx.Client) -> None:
    resp = api.post("/auth/signup", json={"email": "ev\x1b[2Jil@example.test", "password": "correct horse",
                                          "name": "Eve"})
    _json_error(resp, 422)


def test_a_dot_dot_order_id_reaches_orders_as_that_order_not_as_another_route(
    api: httpx.Client, auth: dict[str, str], stack: Stack
) -> None:
    def rule_count() -> float:
        text = httpx.get(stack.service_url("orders") + "/metrics", timeout=10).text
        pattern = (r'^shoplab_http_requests_total\{[^}]*method="GET"[^}]*'
                   r'route="/orders/<order_id>/notifications"[^}]*\} ([0-9.e+]+)$')
        return sum(float(v) for v in re.findall(pattern, text, flags=re.M))

    before = rule_count()
    err = _json_error(api.get("/orders/%2e%2e/notifications", headers=auth), 404)
    assert err["code"] != "internal"
    # Bare, ".." is a dot segment: the gateway's client would have asked orders for GET /notifications.
    assert rule_count() == before + 1
