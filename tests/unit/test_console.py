"""The console's parts without sockets: metrics parsing and edge states, layout, forms, the token gate."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from shop.topology import DEFAULT, Topology
from shoplab.console.app import create_app
from shoplab.console.forms import FaultForm, LoadForm, ProfileForm, ValidationError, describe_errors
from shoplab.console.layout import depths, layout
from shoplab.console.live import (
    SLOW_P95_S,
    VERY_SLOW_P95_S,
    EdgeCounts,
    bucket_quantile,
    edge_views,
    parse_counts,
)
from shoplab.console.server import is_loopback

pytestmark = pytest.mark.unit

EXPOSITION = """\
# TYPE shoplab_dependency_requests_total counter
shoplab_dependency_requests_total{caller="gateway",dependency="recommendations",outcome="success"} 90
shoplab_dependency_requests_total{caller="gateway",dependency="recommendations",outcome="timeout"} 8
shoplab_dependency_requests_total{caller="gateway",dependency="recommendations",outcome="client_error"} 2
# TYPE shoplab_dependency_attempts_total counter
shoplab_dependency_attempts_total{caller="gateway",dependency="recommendations",outcome="success"} 130
# TYPE shoplab_breaker_state gauge
shoplab_breaker_state{caller="gateway",dependency="recommendations"} 1
shoplab_breaker_state{caller="gateway",dependency="catalog"} 0
# TYPE shoplab_dependency_duration_seconds histogram
shoplab_dependency_duration_seconds_bucket{caller="gateway",dependency="recommendations",outcome="success",le="0.5"} 80
shoplab_dependency_duration_seconds_bucket{caller="gateway",dependency="recommendations",outcome="success",le="+Inf"} 90
shoplab_dependency_duration_seconds_count{caller="gateway",dependency="recommendations",outcome="success"} 90
shoplab_dependency_duration_seconds_sum{caller="gateway",dependency="recommendations",outcome="success"} 30
shoplab_dependency_duration_seconds_bucket{caller="gateway",dependency="recommendations",outcome="timeout",le="0.5"} 0
shoplab_dependency_duration_seconds_bucket{caller="gateway",dependency="recommendations",outcome="timeout",le="+Inf"} 8
shoplab_dependency_duration_seconds_count{caller="gateway",dependency="recommendations",outcome="timeout"} 8
shoplab_dependency_duration_seconds_sum{caller="gateway",dependency="recommendations",outcome="timeout"} 16
"""


def test_parse_counts_reads_requests_errors_attempts_and_the_breaker_per_edge() -> None:
    counts = parse_counts(EXPOSITION)
    rec = counts["gateway__recommendations"]
    assert (rec.requests, rec.errors, rec.attempts, rec.breaker) == (100, 8, 130, "half_open")
    assert counts["gateway__catalog"].breaker == "closed"
    # every outcome's calls count in the edge's latency: a timeout is slow for the caller too
    assert rec.buckets == {0.5: 80, float("inf"): 98}


def test_bucket_quantile_interpolates_inside_the_bucket_holding_the_rank_of_the_delta() -> None:
    inf = float("inf")
    before = {0.1: 50.0, 0.5: 90.0, 1.0: 100.0, inf: 100.0}
    # between the scrapes: 100 calls, 10 under 0.1 s, 60 in (0.1, 0.5], 20 in (0.5, 1], 10 above 1 s
    after = {0.1: 60.0, 0.5: 160.0, 1.0: 190.0, inf: 200.0}
    assert bucket_quantile(0.5, before, after) == pytest.approx(0.1 + 0.4 * (50 - 10) / 60)
    assert bucket_quantile(0.8, before, after) == pytest.approx(0.5 + 0.5 * (80 - 70) / 20)
    assert bucket_quantile(0.95, before, after) == 1.0  # the rank is in +Inf: the highest finite bound
    assert bucket_quantile(0.95, after, after) is None  # no call between the scrapes
    assert bucket_quantile(0.95, {}, {}) is None
    assert bucket_quantile(0.5, {}, {0.25: 4.0, inf: 4.0}) == pytest.approx(0.125)  # first bucket starts at 0


def test_an_edge_is_slow_then_very_slow_by_its_p95_unless_errors_or_the_breaker_say_more() -> None:
    inf = float("inf")

    def p95_of(le: float, errors: float = 0) -> str:
        before = {"gateway__catalog": EdgeCounts(0, 0, 0, "closed", {le: 0.0, inf: 0.0})}
        after = {"gateway__catalog": EdgeCounts(100, errors, 100, "closed", {le: 100.0, inf: 100.0})}
        view = {v.edge: v for v in edge_views(DEFAULT, before, after, 1.0, {})}["gateway__catalog"]
        assert view.p95_s == pytest.approx(0.95 * le) and view.to_json()["p95_s"] == round(0.95 * le, 4)
        return view.state

    assert SLOW_P95_S < VERY_SLOW_P95_S
    assert p95_of(SLOW_P95_S) == "ok"
    assert p95_of(SLOW_P95_S * 1.2) == "slow"
    assert p95_of(VERY_SLOW_P95_S * 1.2) == "very_slow"
    assert p95_of(VERY_SLOW_P95_S * 1.2, errors=50) == "errors"


def test_edge_views_give_rates_ratios_and_amplification_between_two_scrapes() -> None:
    before = {"gateway__recommendations": EdgeCounts(100, 8, 130, "closed")}
    after = {"gateway__recommendations": EdgeCounts(120, 18, 170, "closed")}
    views = {v.edge: v for v in edge_views(DEFAULT, before, after, 2.0, {})}
    rec = views["gateway__recommendations"]
    assert (rec.rps, rec.error_ratio, rec.amplification, rec.state) == (10.0, 0.5, 2.0, "errors")
    assert len(views) == 11 and views["orders__payments"].state == "idle"
    assert views["orders__payments"].error_ratio is None
    assert rec.p95_s is None  # no histogram buckets: no p95, the label leaves it out


def test_an_edge_state_says_open_down_and_fault_before_traffic() -> None:
    @dataclass
    class Proxy:
        enabled: bool
        toxics: tuple[object, ...] = ()

    @dataclass
    class Toxic:
        name: str = "latency_downstream"
        type: str = "latency"
        attributes: dict[str, int] | None = None

    proxies = {"orders__payments": Proxy(False), "cart__catalog": Proxy(True, (Toxic(attributes={"latency": 5}),))}
    open_breaker = {"gateway__orders": EdgeCounts(breaker="open")}
    views = {v.edge: v for v in edge_views(DEFAULT, open_breaker, open_breaker, 1.0, proxies)}
    assert views["orders__payments"].state == "down"
    assert views["cart__catalog"].state == "fault"
    assert views["cart__catalog"].to_json()["toxics"] == [
        {"name": "latency_downstream", "type": "latency", "attributes": {"latency": 5}}]
    assert views["gateway__orders"].state == "open"


def test_the_layout_places_every_caller_left_of_its_callees() -> None:
    lay = layout(DEFAULT)
    x = {n["name"]: n["x"] for n in lay["nodes"]}
    assert len(lay["edges"]) == 11 and len(lay["nodes"]) == 8
    assert all(x[e.caller] < x[e.callee] for e in DEFAULT.edges)
    assert depths(DEFAULT)["gateway"] == 0 and depths(DEFAULT)["catalog"] == 3


def test_forms_refuse_bad_values_and_name_the_field() -> None:
    with pytest.raises(ValidationError) as bad:
        FaultForm.model_validate({"edge": "gateway__recommendations", "kind": "latency", "latency_ms": -5})
    assert describe_errors(bad.value)[0]["field"] == "latency_ms"
    for body in ({"edge": "gateway; rm -rf /", "kind": "latency"}, {"edge": "a__b", "kind": "shell"},
                 {"edge": "a__b", "kind": "down", "ttl_s": 0}, {"edge": "a__b", "kind": "down", "extra": 1}):
        with pytest.raises(ValidationError):
            FaultForm.model_validate(body)
    with pytest.raises(ValidationError, match="unknown profile"):
        ProfileForm.model_validate({"profile": "fastest"})
    with pytest.raises(ValidationError):
        LoadForm.model_validate({"rate_per_s": 0})
    assert FaultForm.model_validate({"edge": "a__b", "kind": "bandwidth", "rate_kbps": 8}).attributes() == {
        "rate_kbps": 8}


def test_only_loopback_hosts_count_as_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4") and not is_loopback("example.org")


@dataclass
class FakeStack:
    """What the console reads of a stack; nothing listens on its ports."""

    run_dir: Path
    topology: Topology = DEFAULT.with_offset(39000 - 8080)
    admin_token: str = "sesame"

    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}


@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    return create_app(FakeStack(tmp_path), secret_key="test").test_client()


def test_the_page_renders_the_eleven_edges_read_only(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert html.count('<g class="edge"') == 11
    assert '<span class="k slow">p95 &gt; 500 ms</span>' in html and '<span class="k very_slow">p95 &gt; 2.0 s</span>' in html
    assert 'data-authorised="no"' in html


def test_actions_need_the_token_and_a_wrong_token_is_refused(client: FlaskClient) -> None:
    body = {"edge": "gateway__recommendations", "kind": "latency", "latency_ms": 2000}
    assert client.post("/api/faults", json=body).status_code == 401
    assert client.post("/api/load/stop", json={}).status_code == 401
    assert client.post("/login", json={"token": "nope"}).status_code == 403
    assert client.post("/login", json={}).status_code == 400
    assert client.post("/api/faults", json=body).status_code == 401


def test_with_the_token_bad_input_is_a_json_error_naming_the_field(client: FlaskClient) -> None:
    assert client.post("/login", json={"token": "sesame"}).status_code == 200
    resp = client.post("/api/faults", json={"edge": "gateway__recommendations", "kind": "latency", "latency_ms": "x"})
    assert resp.status_code == 400 and resp.json is not None
    assert resp.json["fields"][0]["field"] == "latency_ms"
    resp = client.post("/api/faults", data="edge=gateway__recommendations", content_type="text/plain")
    assert resp.status_code == 400 and "JSON object" in resp.json["error"]  # type: ignore[index]
    resp = client.post("/api/faults", json={"edge": "nobody__nowhere", "kind": "down"})
    assert resp.status_code == 400 and "unknown edge" in resp.json["error"]  # type: ignore[index]
    assert client.post("/api/load/stop", json={}).json == {"ok": True, "message": "no load was running"}
    assert client.get("/api/nothing").status_code == 404 and client.get("/api/nothing").json is not None


def test_the_command_refuses_a_public_address_without_public(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from shoplab.commands.console import command

    monkeypatch.setenv("SHOPLAB_RUN_DIR", str(tmp_path))
    refused = CliRunner().invoke(command, ["--host", "0.0.0.0"])
    assert refused.exit_code == 2 and "--public" in refused.output
    no_stack = CliRunner().invoke(command, [])
    assert no_stack.exit_code == 1 and "no shoplab stack" in no_stack.output


class FakeFault:
    """A fault that records its apply and rollback."""

    def __init__(self, spec: object, log: list[str]) -> None:
        self.spec, self.log = spec, log
        self.description = f"fault {len(log)}"

    def apply(self) -> None:
        self.log.append("apply")

    def rollback(self) -> None:
        self.log.append("rollback")


class FakeFactory:
    """chaos's fault factory seam, recording instead of calling Toxiproxy."""

    def __init__(self) -> None:
        self.log: list[str] = []

    def build(self, spec: object) -> FakeFault:
        return FakeFault(spec, self.log)


def test_a_leased_fault_rolls_back_when_its_time_to_live_runs_out_and_when_the_console_closes(tmp_path: Path) -> None:
    from shoplab.console.actions import ActionRefused, ConsoleActions

    actions = ConsoleActions(FakeStack(tmp_path))
    factory = FakeFactory()
    actions.faults = factory  # type: ignore[assignment]
    actions.add_fault(FaultForm.model_validate({"edge": "gateway__recommendations", "kind": "latency", "ttl_s": 60}))
    with pytest.raises(ActionRefused, match="already active"):
        actions.add_fault(FaultForm.model_validate({"edge": "gateway__recommendations", "kind": "latency"}))
    assert actions.expire() == [] and factory.log == ["apply"]
    next(iter(actions.leases.values())).expires_at = 0.0  # the TTL ran out
    assert actions.expire() == ["expired: fault 0"] and factory.log == ["apply", "rollback"]
    assert actions.leases == {}

    actions.add_fault(FaultForm.model_validate({"edge": "orders__payments", "kind": "down", "ttl_s": 600}))
    actions.close()
    assert factory.log == ["apply", "rollback", "apply", "rollback"] and actions.leases == {}
