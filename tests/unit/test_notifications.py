"""Unit tests of notifications: each event takes effect once, the owner reads the emails."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from shop.notifications import create_app

pytestmark = pytest.mark.unit

ADMIN = {"Authorization": "Bearer admin-token"}


def event(event_id: str = "evt_1", user_id: str = "u1", type: str = "order.paid") -> dict[str, object]:
    return {"event_id": event_id, "type": type, "order_id": "ord_1", "user_id": user_id,
            "payload": {"total_cents": 1500}}


@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    app = create_app(env={"SHOPLAB_ADMIN_TOKEN": "admin-token", "SHOPLAB_DATA_DIR": str(tmp_path)})
    return app.test_client()


def test_an_event_is_applied_the_first_time_and_only_counted_when_repeated(client: FlaskClient) -> None:
    assert client.post("/events", json=event()).status_code == 201
    assert client.post("/events", json=event()).status_code == 200
    items = client.get("/notifications?user_id=u1").json["items"]
    assert len(items) == 1 and items[0]["subject"] == "Your order ord_1 is paid"
    assert "15.00" in items[0]["body"]
    audit = client.get("/admin/audit", headers=ADMIN).json["events"]
    assert audit == [{"event_id": "evt_1", "type": "order.paid", "order_id": "ord_1", "received": 2, "applied": 1}]


def test_a_user_sees_only_their_own_emails(client: FlaskClient) -> None:
    client.post("/events", json=event("evt_1", "u1"))
    client.post("/events", json=event("evt_2", "u2"))
    assert [i["event_id"] for i in client.get("/notifications?user_id=u2").json["items"]] == ["evt_2"]
    assert client.get("/notifications?user_id=nobody").json["items"] == []


def test_concurrent_duplicates_of_one_event_apply_it_once(client: FlaskClient) -> None:
    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(lambda _: client.post("/events", json=event()).status_code, range(6)))
    assert sorted(codes) == [200] * 5 + [201]
    audit = client.get("/admin/audit", headers=ADMIN).json["events"]
    assert audit[0]["applied"] == 1 and audit[0]["received"] == 6
    assert len(client.get("/notifications?user_id=u1").json["items"]) == 1


@pytest.mark.parametrize("body", [{"event_id": "e"}, {**event(), "type": "not a type!"},
                                  {**event(), "payload": []}, {**event(), "extra": 1}])
def test_invalid_events_are_422(client: FlaskClient, body: dict[str, object]) -> None:
    resp = client.post("/events", json=body)
    assert resp.status_code == 422 and resp.json["error"]["code"] == "validation_failed"


def test_a_payload_of_unexpected_types_still_renders_an_email(client: FlaskClient) -> None:
    body = {**event(), "payload": {"total_cents": "lots", "reason": 7}}
    assert client.post("/events", json=body).status_code == 201


def test_listing_without_a_user_is_422(client: FlaskClient) -> None:
    assert client.get("/notifications").status_code == 422
