"""Two small real kit services behind a real toxiproxy-server, for the resilience kit's integration tests.

``create_callee()`` plays catalog and recommendations (one process, two edges);
``create_caller()`` is a gateway-shaped kit service whose routes call them through
``make_clients``: ``/call/<dependency>/<path>`` forwards one call and reports the answer,
``/product/<id>`` builds a product page with recommendations as a non-critical part
(a fallback names it as degraded). The real gateway tests its own page; these apps
exist so the kit is measured on real processes whatever state the shop is in.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from flask import Flask, jsonify, request
from prometheus_client.parser import text_string_to_metric_families

from shop.kit.app import create_service_app
from shop.kit.config import KitSettings
from shop.kit.resilience import make_clients
from shop.kit.resilience.shedding import set_priority_classifier
from shoplab import REPO_ROOT
from shoplab.runtime.tools import ensure_tool
from tests.support import poll_until

ADMIN_TOKEN = "resilience-admin"
HOST = "127.0.0.1"
EDGES = ("catalog", "recommendations")
CALLER_THREADS = 24


def _callee_setup(app: Flask, settings: KitSettings) -> None:
    work = {"done": 0}
    lock = threading.Lock()

    @app.get("/products/<int:product_id>")
    def product(product_id: int) -> Any:
        return jsonify(id=product_id, name=f"product {product_id}", price_cents=100 * product_id)

    @app.get("/recommendations/<int:product_id>")
    def recommendations(product_id: int) -> Any:
        return jsonify(product_id=product_id, items=[{"id": product_id + 1, "name": "next", "price_cents": 1}])

    @app.post("/work")
    def do_work() -> Any:
        with lock:
            work["done"] += 1
        return jsonify(done=work["done"]), 201

    @app.get("/work")
    def count_work() -> Any:
        return jsonify(done=work["done"])


def create_callee() -> Flask:
    """Build the callee (a kit service named catalog; it has no dependencies)."""
    return create_service_app("catalog", setup=_callee_setup)


def _caller_setup(app: Flask, settings: KitSettings) -> None:
    clients = make_clients(app, settings)
    # Under a profile with a shed limit, ``/call/...?priority=browse`` is shed like that priority.
    set_priority_classifier(app, lambda method, path: request.args.get("priority") if path.startswith("/call/") else None)

    @app.route("/call/<dependency>/<path:path>", methods=["GET", "POST"])
    def call(dependency: str, path: str) -> Any:
        method = request.args.get("method", "GET")
        key = request.args.get("key")
        body = request.get_json(silent=True) if method == "POST" else None
        resp = clients[dependency].request(method, "/" + path, idempotency_key=key, json=body)
        return jsonify(status=resp.status_code, body=resp.json())

    @app.get("/product/<int:product_id>")
    def product_page(product_id: int) -> Any:
        product = clients["catalog"].get(f"/products/{product_id}").json()
        degraded = []

        def no_recommendations(exc: Exception) -> None:
            degraded.append("recommendations")

        resp = clients["recommendations"].get(f"/recommendations/{product_id}", fallback=no_recommendations)
        items = resp.json()["items"] if resp is not None else []
        return jsonify(product=product, recommendations=items, degraded=degraded)


def create_caller() -> Flask:
    """Build the caller (a kit service named gateway)."""
    return create_service_app("gateway", setup=_caller_setup)


def get_free_port() -> int:
    """Return a port nobody listens on right now (outside every engineer's topology ports)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Harness:
    """The running processes and clients the tests drive."""

    toxiproxy: httpx.Client
    caller: httpx.Client
    callee: httpx.Client
    admin: dict[str, str]
    proxy_names: dict[str, str]

    def set_policy(self, profile: str, overrides: dict[str, dict[str, Any]] | None = None) -> None:
        """Switch the caller's resilience profile (and overrides) through its admin API."""
        body: dict[str, Any] = {"profile": profile, "overrides": overrides or {}}
        self.caller.put("/admin/resilience", json=body, headers=self.admin).raise_for_status()

    def state(self, dependency: str = "catalog") -> dict[str, Any]:
        """Return the caller's live state of one dependency."""
        resp = self.caller.get("/admin/state", headers=self.admin)
        resp.raise_for_status()
        return dict(resp.json()["dependencies"][dependency])

    @contextmanager
    def toxic(self, dependency: str, toxic_type: str, **attributes: Any) -> Iterator[None]:
        """Add a toxic on the caller→``dependency`` edge for the block; always remove it."""
        proxy = self.proxy_names[dependency]
        name = f"{toxic_type}_{dependency}"
        body = {"name": name, "type": toxic_type, "stream": "downstream", "toxicity": 1.0,
                "attributes": attributes}
        self.toxiproxy.post(f"/proxies/{proxy}/toxics", json=body).raise_for_status()
        try:
            yield
        finally:
            self.toxiproxy.delete(f"/proxies/{proxy}/toxics/{name}").raise_for_status()

    @contextmanager
    def edge_down(self, dependency: str) -> Iterator[None]:
        """Disable the caller→``dependency`` proxy for the block; always enable it again."""
        proxy = self.proxy_names[dependency]
        self.toxiproxy.post(f"/proxies/{proxy}", json={"enabled": False}).raise_for_status()
        try:
            yield
        finally:
            self.toxiproxy.post(f"/proxies/{proxy}", json={"enabled": True}).raise_for_status()


def read_counter(client: httpx.Client, name: str, **labels: str) -> float:
    """Sum the samples of counter ``name`` (without ``_total``) that carry ``labels``."""
    resp = client.get("/metrics", headers={"Accept": "text/plain"})
    resp.raise_for_status()
    total = 0.0
    for family in text_string_to_metric_families(resp.text):
        if family.name != name:
            continue
        for sample in family.samples:
            if sample.name == name + "_total" and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO_ROOT)


def _gunicorn(app: str, port: int, threads: int) -> list[str]:
    return [
        sys.executable, "-m", "gunicorn", "--worker-class", "gthread", "--workers", "1",
        "--threads", str(threads), "--bind", f"{HOST}:{port}", "--timeout", "60",
        "--graceful-timeout", "2", "--log-level", "warning", app,
    ]


@contextmanager
def running_harness(run_dir: Path) -> Iterator[Harness]:
    """Start toxiproxy-server, the callee and the caller on free ports; stop them all afterwards."""
    toxiproxy_bin = ensure_tool("toxiproxy-server")
    ports = {name: get_free_port() for name in ("toxiproxy", "callee", "caller", *EDGES)}
    base_env = {
        **os.environ,
        "SHOPLAB_ADMIN_TOKEN": ADMIN_TOKEN,
        "SHOPLAB_TELEMETRY": "off",
        "SHOPLAB_RESILIENCE_PROFILE": "resilient",
        "PYTHONUNBUFFERED": "1",
    }
    unused = f"http://{HOST}:9"  # the caller's other dependencies are never called
    caller_env = {
        **base_env,
        "SHOPLAB_DATA_DIR": str(run_dir / "caller"),
        "IDENTITY_URL": unused, "CART_URL": unused, "ORDERS_URL": unused,
        **{f"{dep.upper()}_URL": f"http://{HOST}:{ports[dep]}" for dep in EDGES},
    }
    callee_env = {**base_env, "SHOPLAB_DATA_DIR": str(run_dir / "callee")}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(_spawn([str(toxiproxy_bin), "-host", HOST, "-port", str(ports["toxiproxy"])],
                            base_env, run_dir / "toxiproxy.log"))
        procs.append(_spawn(_gunicorn("tests.integration.resilience_harness:create_callee()", ports["callee"], 24),
                            callee_env, run_dir / "callee.log"))
        procs.append(_spawn(_gunicorn("tests.integration.resilience_harness:create_caller()", ports["caller"],
                                      CALLER_THREADS), caller_env, run_dir / "caller.log"))
        with (
            httpx.Client(base_url=f"http://{HOST}:{ports['toxiproxy']}", timeout=5) as toxiproxy,
            httpx.Client(base_url=f"http://{HOST}:{ports['caller']}", timeout=15) as caller,
            httpx.Client(base_url=f"http://{HOST}:{ports['callee']}", timeout=15) as callee,
        ):
            for client, what in ((toxiproxy, "/version"), (callee, "/healthz"), (caller, "/healthz")):
                poll_until(lambda c=client, p=what: c.get(p).status_code == 200, timeout_s=30,
                           message=f"{client.base_url}{what} answering (logs in {run_dir})")
            names = {}
            for dep in EDGES:
                names[dep] = f"gateway__{dep}"
                toxiproxy.post("/proxies", json={
                    "name": names[dep], "listen": f"{HOST}:{ports[dep]}",
                    "upstream": f"{HOST}:{ports['callee']}", "enabled": True,
                }).raise_for_status()
            yield Harness(toxiproxy, caller, callee, {"Authorization": f"Bearer {ADMIN_TOKEN}"}, names)
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
