"""The trainer's console in real Chromium against the running native shop: the seven checks of issue 22.

Each test opens its own browser context: a new session, without the admin token until
it logs in. The tests read the truth from the shop itself (Toxiproxy's API, every
service's ``/admin/resilience``), never from the page alone.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from shoplab.runtime.stack import Stack
from tests.support import poll_until

pytestmark = pytest.mark.browser

# The README's picture of the console under a fault. A test run writes its screenshot to its own
# temporary folder, so running the tests leaves the checkout as it found it; SHOPLAB_UPDATE_SCREENSHOT=1
# refreshes the README's copy instead.
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "images" / "console-under-fault.png"


def screenshot_path(tmp_path: Path) -> Path:
    """Return where this run's screenshot goes: the README's copy only when asked to refresh it."""
    return DOCS_SCREENSHOT if os.environ.get("SHOPLAB_UPDATE_SCREENSHOT") == "1" else tmp_path / DOCS_SCREENSHOT.name
EDGE = "gateway__recommendations"


def login(page: Page, stack: Stack) -> None:
    """Enter the admin token once; the session keeps it."""
    page.fill("#token", stack.admin_token)
    page.click("#login button[type=submit]")
    expect(page.locator("#mode")).to_have_text("actions enabled")


def toxics(stack: Stack, edge: str) -> list[dict[str, object]]:
    """Return the toxics Toxiproxy's own API lists on one edge."""
    resp = httpx.get(f"{stack.topology.toxiproxy_url}/proxies/{edge}/toxics", timeout=5)
    return list(resp.raise_for_status().json())


def profiles(stack: Stack) -> set[str]:
    """Return the set of profiles every service's own admin API reports."""
    with httpx.Client(headers=stack.admin_headers(), timeout=5) as http:
        return {http.get(stack.service_url(s) + "/admin/resilience").json()["profile"]
                for s in stack.topology.service_names}


def apply_latency(page: Page, edge: str, latency_ms: int) -> None:
    """Pick the edge on the graph and apply a latency toxic through the form."""
    # a thin curve's bounding-box centre may lie off the curve: deliver the click to the edge itself
    page.locator(f'#graph g.edge[data-edge="{edge}"]').dispatch_event("click")
    expect(page.locator("#fault-form select[name=edge]")).to_have_value(edge)
    expect(page.locator(f'#graph g.edge[data-edge="{edge}"]')).to_have_class(re.compile("selected"))
    page.select_option("#fault-form select[name=kind]", "latency")
    page.fill("#fault-form input[name=latency_ms]", str(latency_ms))
    page.fill("#fault-form input[name=ttl_s]", "120")
    page.click("#fault-form button[type=submit]")
    expect(page.locator("#message")).to_contain_text(f"latency(latency={latency_ms}, jitter=0) on {edge}")


def test_the_page_shows_the_eleven_edges_live(page: Page, stack: Stack) -> None:
    assert page.locator("#graph g.edge").count() == 11 == len(stack.topology.edges)
    assert page.locator("#graph g.node").count() == 8
    # every edge got a state from the live stream, and every node its live profile
    for edge in stack.topology.edges:
        state = page.locator(f'#graph g.edge[data-edge="{edge.proxy_name}"]').get_attribute("data-state")
        assert state in {"idle", "ok", "slow", "very_slow", "fault", "errors", "half_open", "open", "down"}
    expect(page.locator('#graph g.node[data-service="orders"] .profile')).to_have_text("resilient")


def test_an_action_without_the_token_is_refused_and_changes_nothing(page: Page, stack: Stack) -> None:
    before = profiles(stack)
    page.select_option("#fault-form select[name=edge]", EDGE)
    page.click("#fault-form button[type=submit]")
    expect(page.locator("#message")).to_contain_text("refused (401)")
    page.select_option("#profile-form select[name=profile]", "naive")
    page.click("#profile-form button[type=submit]")
    expect(page.locator("#message")).to_contain_text("refused (401)")
    assert toxics(stack, EDGE) == []
    assert profiles(stack) == before
    # a wrong token is refused too, and the page stays read-only
    page.fill("#token", "not-the-token")
    page.click("#login button[type=submit]")
    expect(page.locator("#message")).to_contain_text("refused (403)")
    expect(page.locator("#mode")).to_have_text("read-only")


def test_bad_input_gets_a_clear_error_naming_the_field(page: Page, stack: Stack) -> None:
    login(page, stack)
    page.fill("#fault-form input[name=latency_ms]", "-5")
    page.click("#fault-form button[type=submit]")
    expect(page.locator("#message")).to_contain_text("latency_ms")
    expect(page.locator("#message")).to_have_class("error")
    assert toxics(stack, "gateway__identity") == []


def test_a_latency_fault_shows_on_its_edge_within_5_s_and_is_listed_then_removed(page: Page, stack: Stack) -> None:
    login(page, stack)
    apply_latency(page, EDGE, 2000)
    assert [t["attributes"]["latency"] for t in toxics(stack, EDGE)] == [2000]
    edge = page.locator(f'#graph g.edge[data-edge="{EDGE}"]')
    expect(edge).not_to_have_attribute("data-state", re.compile(r"^(idle|ok)$"), timeout=5_000)
    item = page.locator("#fault-list li.fault", has_text="gateway → recommendations: latency")
    expect(item).to_contain_text("latency=2000")
    expect(item).to_contain_text("expires in")

    item.locator("button").click()
    expect(page.locator("#message")).to_contain_text("removed")
    poll_until(lambda: toxics(stack, EDGE) == [], timeout_s=5, message="the toxic is gone from toxiproxy")
    expect(page.locator("#fault-list li.fault")).to_have_count(0, timeout=5_000)


def test_switching_the_profile_reaches_every_service(page: Page, stack: Stack) -> None:
    login(page, stack)
    try:
        page.select_option("#profile-form select[name=profile]", "timeouts")
        page.click("#profile-form button[type=submit]")
        expect(page.locator("#message")).to_contain_text("profile timeouts on 8 services")
        assert profiles(stack) == {"timeouts"}
        expect(page.locator('#graph g.node[data-service="catalog"] .profile')).to_have_text("timeouts", timeout=8_000)
    finally:
        page.select_option("#profile-form select[name=profile]", "resilient")
        page.click("#profile-form button[type=submit]")
        poll_until(lambda: profiles(stack) == {"resilient"}, timeout_s=10, message="back to resilient")


def test_load_starts_and_stops_from_the_page_with_live_journey_outcomes(page: Page, stack: Stack, tmp_path: Path) -> None:
    login(page, stack)
    apply_latency(page, EDGE, 2000)  # the screenshot shows the console under a fault
    page.fill("#load-form input[name=rate_per_s]", "3")
    page.fill("#load-form input[name=duration_s]", "120")
    page.click("#load-form button[type=submit]")
    expect(page.locator("#load-state")).to_have_attribute("data-running", "yes", timeout=10_000)
    # the strip chart draws journey outcomes, and the faulted edge carries traffic
    expect(page.locator("#strip polyline.success")).to_have_attribute("points", re.compile(r"\d.* \d"), timeout=40_000)
    expect(page.locator(f'#edges tr[data-edge="{EDGE}"] .rps')).not_to_have_text("0.0", timeout=20_000)
    # the p95 is the caller's: every call waits out the 2 s toxic until the fallback budget (0.25 s in
    # the resilient profile) cuts it, so it is at least 200 ms, where the callee's own histogram sees ~0
    expect(page.locator(f'#edges tr[data-edge="{EDGE}"] .p95')).to_have_text(
        re.compile(r"^([2-9]\d\d ms|\d+\.\d\d s)$"), timeout=20_000)
    expect(page.locator(f'#graph g.edge[data-edge="{EDGE}"] .label')).to_contain_text("p95 ", timeout=10_000)
    shot = screenshot_path(tmp_path)
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes().startswith(b"\x89PNG"), f"no PNG screenshot at {shot}"

    page.click("#load-stop")
    expect(page.locator("#message")).to_contain_text("load stopped")
    expect(page.locator("#load-state")).to_have_attribute("data-running", "no", timeout=10_000)
    page.locator("#fault-list li.fault", has_text="latency").locator("button").click()
    poll_until(lambda: toxics(stack, EDGE) == [], timeout_s=5, message="the toxic is gone from toxiproxy")


def test_a_lab_check_runs_from_the_page_and_shows_its_result(page: Page, stack: Stack) -> None:
    login(page, stack)
    page.select_option("#lab-form select[name=number]", "02")
    page.click("#lab-form button[type=submit]")
    expect(page.locator("#message")).to_contain_text("checking lab 02")
    box = page.locator("#lab-result")
    expect(box).to_have_attribute("data-state", re.compile(r"^(passed|failed)$"), timeout=120_000)
    expect(box).to_contain_text(re.compile(r"lab 02: (PASS|FAIL)"))
    assert box.locator("li").count() >= 1
    assert list((stack.run_dir / "console" / "reports").glob("*-lab-02/index.html")), "the check wrote no report"
    if box.get_attribute("data-state") == "passed":  # a pass shows every target met
        assert box.locator("li.met").count() == box.locator("li").count()
    else:
        assert box.locator("li.unmet").count() + box.locator("p").count() >= 1
