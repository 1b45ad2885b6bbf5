"""Unit tests of the payments simulator: idempotent charges, the decline rule, latency, admin hooks."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from shop.kit.db import make_engine
from shop.payments import create_app
from shop.payments.model import DECLINE_CARD, IdempotencyKeyMismatch, IdempotencyKeyReused
from shop.payments.service import PaymentService
from shop.payments.store import LedgerStore

pytestmark = pytest.mark.unit

ADMIN = {"Authorization": "Bearer admin-token"}


@pytest.fixture
def store(tmp_path: Path) -> LedgerStore:
    s = LedgerStore(make_engine(tmp_path / "payments.sqlite3"))
    s.create_schema()
    return s


@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    app = create_app(env={"SHOPLAB_ADMIN_TOKEN": "admin-token", "SHOPLAB_DATA_DIR": str(tmp_path)})
    return app.test_client()


def charge(client: FlaskClient, order_id: str = "ord_1", amount: int = 1500, key: str | None = "ord_1",
           card: str | None = None):  # type: ignore[no-untyped-def]
    body: dict[str, object] = {"order_id": order_id, "amount_cents": amount}
    if card:
        body["card"] = card
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post("/charges", json=body, headers=headers)


def test_a_charge_succeeds_and_lands_in_the_ledger(client: FlaskClient) -> None:
    resp = charge(client)
    assert resp.status_code == 201
    assert resp.json["status"] == "succeeded" and resp.json["amount_cents"] == 1500
    audit = client.get("/admin/audit", headers=ADMIN).json
    assert audit == {"charges": [{"charge_id": resp.json["charge_id"], "order_id": "ord_1",
                                  "amount_cents": 1500, "status": "succeeded"}]}


def test_a_repeated_idempotency_key_answers_the_first_charge_and_charges_once(client: FlaskClient) -> None:
    first = charge(client)
    again = charge(client)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json
    assert len(client.get("/admin/audit", headers=ADMIN).json["charges"]) == 1


def test_the_decline_test_card_is_declined(client: FlaskClient) -> None:
    resp = charge(client, card=DECLINE_CARD)
    assert resp.status_code == 201 and resp.json["status"] == "declined"


def test_a_missing_idempotency_key_is_a_400(client: FlaskClient) -> None:
    resp = charge(client, key=None)
    assert resp.status_code == 400 and resp.json["error"]["code"] == "bad_request"


def test_a_key_that_is_not_the_order_id_is_a_422(client: FlaskClient) -> None:
    resp = charge(client, key="something-else")
    assert resp.status_code == 422 and resp.json["error"]["code"] == "idempotency_key_mismatch"


@pytest.mark.parametrize("body", [{"order_id": "o", "amount_cents": -1}, {"order_id": "o", "amount_cents": "5"},
                                  {"order_id": "", "amount_cents": 5}, {"order_id": "o"}])
def test_invalid_charge_bodies_are_422(client: FlaskClient, body: dict[str, object]) -> None:
    resp = client.post("/charges", json=body, headers={"Idempotency-Key": "o"})
    assert resp.status_code == 422 and resp.json["error"]["code"] == "validation_failed"


def test_malformed_json_is_a_400(client: FlaskClient) -> None:
    resp = client.post("/charges", data="{nope", content_type="application/json", headers={"Idempotency-Key": "o"})
    assert resp.status_code == 400


def test_reusing_a_key_for_another_amount_is_a_conflict(store: LedgerStore) -> None:
    service = PaymentService(store)
    service.charge(idempotency_key="o", order_id="o", amount_cents=100, card=None)
    with pytest.raises(IdempotencyKeyReused):
        service.charge(idempotency_key="o", order_id="o", amount_cents=200, card=None)
    with pytest.raises(IdempotencyKeyMismatch):
        service.charge(idempotency_key="x", order_id="o", amount_cents=100, card=None)


def test_processing_latency_is_spent_once_per_new_charge(store: LedgerStore) -> None:
    slept: list[float] = []
    service = PaymentService(store, latency_ms=250, sleep=slept.append)
    service.charge(idempotency_key="o", order_id="o", amount_cents=100, card=None)
    service.charge(idempotency_key="o", order_id="o", amount_cents=100, card=None)
    assert slept == [0.25]


def test_concurrent_charges_with_one_key_record_one_charge(store: LedgerStore) -> None:
    service = PaymentService(store)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(
            lambda _: service.charge(idempotency_key="o", order_id="o", amount_cents=100, card=None), range(8)))
    assert len({r.charge.charge_id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert len(store.list_all()) == 1


def test_the_admin_ledger_hook_writes_and_deletes_a_raw_second_charge(client: FlaskClient) -> None:
    charge(client)
    raw = client.post("/admin/ledger", json={"order_id": "ord_1", "amount_cents": 1500}, headers=ADMIN)
    assert raw.status_code == 201
    assert [c["order_id"] for c in client.get("/admin/audit", headers=ADMIN).json["charges"]] == ["ord_1", "ord_1"]
    assert client.delete(f"/admin/ledger/{raw.json['charge_id']}", headers=ADMIN).status_code == 200
    assert len(client.get("/admin/audit", headers=ADMIN).json["charges"]) == 1
    assert client.delete(f"/admin/ledger/{raw.json['charge_id']}", headers=ADMIN).status_code == 404


def test_admin_routes_need_the_admin_token(client: FlaskClient) -> None:
    assert client.get("/admin/audit").status_code == 401
    assert client.post("/admin/ledger", json={"order_id": "o", "amount_cents": 1}).status_code == 401


def test_the_openapi_document_lists_the_charge_route(client: FlaskClient) -> None:
    doc = client.get("/openapi.json").json
    params = {p["name"]: p["required"] for p in doc["paths"]["/charges"]["post"]["parameters"]}
    assert params == {"Idempotency-Key": True}
