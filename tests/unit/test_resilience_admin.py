"""Unit tests of the resilience and fault admin APIs and the deadline middleware (Flask test client)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from flask import Flask, jsonify
from flask.testing import FlaskClient

from shop.kit.app import create_service_app
from shop.kit.errors import ValidationFailed
from shop.kit.faults import FaultSpec, get_fault_set
from shop.kit.resilience import DEADLINE_HEADER, get_control
from shop.kit.resilience.deadline import get_remaining_s
from shop.kit.resilience.policy import PROFILES, DependencyPolicy, parse_value

pytestmark = pytest.mark.unit

ADMIN = {"Authorization": "Bearer admin-token"}


def _setup(app: Flask, settings: Any) -> None:
    work: list[float | None] = []
    app.config["WORK"] = work

    @app.post("/carts/<user_id>/items")
    def add(user_id: str) -> Any:
        work.append(get_remaining_s())
        return jsonify(ok=True)

    @app.get("/carts/<user_id>")
    def show(user_id: str) -> Any:
        work.append(get_remaining_s())
        return jsonify(ok=True)


@pytest.fixture
def app() -> Flask:
    return create_service_app(
        "cart",
        setup=_setup,
        env={"SHOPLAB_ADMIN_TOKEN": "admin-token", "CATALOG_URL": "http://127.0.0.1:9", "SHOPLAB_TELEMETRY": "off"},
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# -- /admin/resilience and /admin/state ------------------------------------------------------


def test_the_admin_api_needs_the_token(client: FlaskClient) -> None:
    assert client.get("/admin/resilience").status_code == 401
    assert client.put("/admin/faults", json={"faults": []}).status_code == 401


def test_get_resilience_shows_the_profile_and_each_dependencys_policy(client: FlaskClient) -> None:
    body = client.get("/admin/resilience", headers=ADMIN).get_json()
    assert body["profile"] == "resilient"
    assert body["profiles"] == ["naive", "timeouts", "retries", "resilient", "adaptive"]
    assert set(body["policies"]) == {"catalog"}
    assert body["policies"]["catalog"]["retry_budget_ratio"] == 0.2


def test_put_resilience_switches_profile_and_overrides_at_run_time(app: Flask, client: FlaskClient) -> None:
    resp = client.put(
        "/admin/resilience",
        headers=ADMIN,
        json={"profile": "timeouts", "overrides": {"catalog": {"read_timeout_s": 0.3}}},
    )
    assert resp.status_code == 200
    policy = get_control(app).runtime("catalog").policy
    assert policy.read_timeout_s == 0.3 and policy.retry_max_attempts == 1
    assert resp.get_json()["overrides"] == {"catalog": {"read_timeout_s": 0.3}}
    # Without overrides, a PUT clears them.
    client.put("/admin/resilience", headers=ADMIN, json={"profile": "naive"})
    assert get_control(app).runtime("catalog").policy.read_timeout_s == 30.0


@pytest.mark.parametrize(
    "body",
    [
        {"profile": "bogus"},
        {"profile": 3},
        {"overrides": {"payments": {"read_timeout_s": 1}}},
        {"overrides": {"catalog": {"no_such_key": 1}}},
        {"overrides": {"catalog": {"read_timeout_s": -1}}},
        {"overrides": {"catalog": {"read_timeout_s": "fast"}}},
        {"overrides": {"catalog": {"retry_max_attempts": 0}}},
        {"overrides": {"catalog": {"propagate_deadline": 1}}},
        {"overrides": {"catalog": {"hedge_budget_max_tokens": 0}}},
        {"overrides": {"catalog": {"hedge_budget_max_tokens": None}}},
        {"overrides": {"catalog": {"hedge_max_delay_s": -0.1}}},
        {"overrides": {"catalog": {"hedge_max_delay_s": "0.3"}}},
        {"overrides": ["catalog"]},
        {"profil": "naive"},
    ],
)
def test_put_resilience_answers_422_on_a_bad_setting_and_changes_nothing(
    app: Flask, client: FlaskClient, body: dict[str, Any]
) -> None:
    before = get_control(app).runtime("catalog")
    resp = client.put("/admin/resilience", headers=ADMIN, json=body)
    assert resp.status_code == 422
    assert resp.get_json()["error"]["code"] == "validation_failed"
    assert get_control(app).runtime("catalog") is before


def test_every_policy_key_has_an_override_rule() -> None:
    known = {f.name for f in dataclasses.fields(DependencyPolicy)}
    assert {key: parse_value(key, getattr(PROFILES["resilient"].default, key)) for key in known} == (
        PROFILES["resilient"].default.to_dict()
    )


@pytest.mark.parametrize(("key", "value", "message"), [
    ("hedge_budget_max_tokens", 0, "hedge_budget_max_tokens must be > 0"),
    ("hedge_budget_max_tokens", None, "hedge_budget_max_tokens cannot be null"),
    ("hedge_budget_max_tokens", 601, "hedge_budget_max_tokens must be <= 600"),
    ("hedge_max_delay_s", float("nan"), "hedge_max_delay_s must be finite"),
    ("hedge_max_delay_s", True, "hedge_max_delay_s must be a number"),
])
def test_the_hedge_keys_are_validated_like_the_retry_budgets(key: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        parse_value(key, value)
    assert parse_value("hedge_max_delay_s", None) is None  # no cap
    assert parse_value("hedge_budget_max_tokens", 10) == 10


def test_the_hedge_keys_can_be_overridden_and_show_in_the_state(app: Flask, client: FlaskClient) -> None:
    overrides = {"catalog": {"hedge_budget_max_tokens": 4, "hedge_max_delay_s": 0.25}}
    resp = client.put("/admin/resilience", headers=ADMIN, json={"profile": "adaptive", "overrides": overrides})
    assert resp.status_code == 200
    hedging = client.get("/admin/state", headers=ADMIN).get_json()["dependencies"]["catalog"]["hedging"]
    assert hedging["max_delay_s"] == 0.25
    assert hedging["min_delay_s"] == PROFILES["adaptive"].default.hedge_min_delay_s
    assert hedging["budget"] == {"tokens": 0.0, "ratio": 0.05, "max_tokens": 4}
    client.put("/admin/resilience", headers=ADMIN, json={"profile": "resilient"})


@pytest.mark.parametrize("key", ["retry_max_attempts", "breaker_fail_max", "bulkhead_limit"])
def test_an_infinite_count_is_a_validation_error_not_a_crash(key: str) -> None:
    with pytest.raises(ValidationFailed, match=f"{key} must be an integer >= 1"):
        parse_value(key, float("inf"))


def test_put_resilience_answers_400_on_a_body_that_is_not_json(client: FlaskClient) -> None:
    resp = client.put("/admin/resilience", headers=ADMIN, data="profile=naive")
    assert resp.status_code == 400


def test_admin_state_shows_breaker_bulkhead_and_budget_per_dependency(client: FlaskClient) -> None:
    body = client.get("/admin/state", headers=ADMIN).get_json()
    catalog = body["dependencies"]["catalog"]
    assert catalog["breaker"] == {
        "enabled": True,
        "state": "closed",
        "fail_counter": 0,
        "fail_max": 10,
        "reset_timeout_s": 5.0,
    }
    assert catalog["bulkhead"] == {"in_flight": 0, "limit": 16}
    assert catalog["retry_budget"]["ratio"] == 0.2


# -- deadline middleware ------------------------------------------------------------------------


def test_a_request_with_a_spent_deadline_is_refused_before_the_work_starts(app: Flask, client: FlaskClient) -> None:
    resp = client.post("/carts/u1/items", json={}, headers={DEADLINE_HEADER: "0"})
    assert resp.status_code == 504
    assert resp.get_json()["error"]["code"] == "deadline_exceeded"
    assert app.config["WORK"] == []


def test_an_incoming_deadline_becomes_the_requests_deadline(app: Flask, client: FlaskClient) -> None:
    assert client.get("/carts/u1", headers={DEADLINE_HEADER: "200"}).status_code == 200
    remaining = app.config["WORK"][0]
    assert remaining is not None and 0 < remaining <= 0.2


def test_a_request_without_a_deadline_gets_the_profiles_budget_and_naive_gets_none(
    app: Flask, client: FlaskClient
) -> None:
    client.get("/carts/u1")
    client.put("/admin/resilience", headers=ADMIN, json={"profile": "naive"})
    client.get("/carts/u1")
    with_budget, without = app.config["WORK"]
    assert with_budget is not None and 0 < with_budget <= 3.0
    assert without is None


def test_a_malformed_deadline_header_answers_400_and_health_ignores_it(client: FlaskClient) -> None:
    assert client.get("/carts/u1", headers={DEADLINE_HEADER: "soon"}).status_code == 400
    assert client.get("/healthz", headers={DEADLINE_HEADER: "0"}).status_code == 200


# -- /admin/faults -----------------------------------------------------------------------------------


def test_faults_can_be_set_listed_and_deleted(client: FlaskClient) -> None:
    spec = {"route": "/carts", "method": "post", "error_rate": 1.0, "status": 502, "latency_ms": 0}
    resp = client.put("/admin/faults", headers=ADMIN, json={"faults": [spec]})
    assert resp.status_code == 200
    listed = client.get("/admin/faults", headers=ADMIN).get_json()["faults"]
    assert listed == [{**spec, "method": "POST", "retry_after_s": None, "latency_rate": 1.0, "caller": None,
                       "times": None, "concurrency": None, "queue": 0}]
    failed = client.post("/carts/u1/items", json={})
    assert failed.status_code == 502 and failed.get_json()["error"]["code"] == "injected_fault"
    assert client.get("/carts/u1").status_code == 200  # other method: not faulted
    assert client.delete("/admin/faults", headers=ADMIN).get_json()["faults"] == []
    assert client.post("/carts/u1/items", json={}).status_code == 200


def test_an_injected_error_can_carry_retry_after(client: FlaskClient) -> None:
    spec = {"route": "/carts", "error_rate": 1.0, "status": 503, "retry_after_s": 2}
    client.put("/admin/faults", headers=ADMIN, json={"faults": [spec]})
    assert client.get("/carts/u1").headers["Retry-After"] == "2"


def test_the_admin_api_is_never_faulted(client: FlaskClient) -> None:
    client.put("/admin/faults", headers=ADMIN, json={"faults": [{"route": "/", "error_rate": 1.0}]})
    assert client.get("/carts/u1").status_code == 503
    assert client.delete("/admin/faults", headers=ADMIN).status_code == 200


@pytest.mark.parametrize(
    "fault",
    [
        {"error_rate": 0.5},
        {"route": "carts"},
        {"route": "/carts", "error_rate": 1.5},
        {"route": "/carts", "error_rate": "half"},
        {"route": "/carts", "status": 200},
        {"route": "/carts", "status": 503.5},
        {"route": "/carts", "latency_ms": -1},
        {"route": "/carts", "method": "FETCH"},
        {"route": "/carts", "colour": "red"},
        {"route": "/carts", "queue": 3},
        {"route": "/carts", "concurrency": 0},
        {"route": "/carts", "concurrency": 1, "queue": 65},
        "/carts",
    ],
)
def test_a_bad_fault_spec_answers_422_and_changes_nothing(app: Flask, client: FlaskClient, fault: Any) -> None:
    client.put("/admin/faults", headers=ADMIN, json={"faults": [{"route": "/x", "latency_ms": 1}]})
    resp = client.put("/admin/faults", headers=ADMIN, json={"faults": [fault]})
    assert resp.status_code == 422
    assert resp.get_json()["error"]["code"] == "validation_failed"
    assert [f.route for f in get_fault_set(app).faults] == ["/x"]


def test_faults_body_must_be_an_object_with_a_list(client: FlaskClient) -> None:
    assert client.put("/admin/faults", headers=ADMIN, data="nope").status_code == 400
    assert client.put("/admin/faults", headers=ADMIN, json={"faults": {}}).status_code == 422


def test_the_longest_matching_route_wins() -> None:
    from shop.kit.faults import FaultSet

    faults = FaultSet()
    faults.replace([FaultSpec(route="/carts", error_rate=1.0), FaultSpec(route="/carts/u1/items", latency_ms=5)])
    found = faults.find("POST", "/carts/u1/items")
    assert found is not None and found.route == "/carts/u1/items"
    assert faults.find("GET", "/products") is None


def test_an_error_rate_injects_roughly_that_share() -> None:
    import random

    from shop.kit.faults import FaultSet

    faults = FaultSet(rng=random.Random(7))
    spec = FaultSpec(route="/", error_rate=0.3)
    hits = sum(faults.should_fail(spec) for _ in range(2000))
    assert 500 < hits < 700


def test_a_latency_fault_delays_the_request_and_is_counted(app: Flask, client: FlaskClient) -> None:
    from prometheus_client import REGISTRY

    slept: list[float] = []
    get_fault_set(app).sleep = slept.append
    labels = {"service": "cart", "route": "/carts/u9", "kind": "latency"}
    before = REGISTRY.get_sample_value("shoplab_faults_injected_total", labels) or 0.0
    client.put("/admin/faults", headers=ADMIN, json={"faults": [{"route": "/carts/u9", "latency_ms": 250}]})
    assert client.get("/carts/u9").status_code == 200
    assert slept == [0.25]
    assert REGISTRY.get_sample_value("shoplab_faults_injected_total", labels) == before + 1


@pytest.mark.parametrize("timeout_s", ["soon", "-1", "nan", "inf", "1e300", "0"])
def test_the_probe_answers_400_on_a_bad_timeout_instead_of_an_unhandled_500(
    client: FlaskClient, timeout_s: str
) -> None:
    resp = client.get(f"/admin/probe/catalog?timeout_s={timeout_s}", headers=ADMIN)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "bad_request"
