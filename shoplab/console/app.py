"""The trainer's console: one page of the shop's live edges, with faults, profiles, load and labs.

Read-only without the admin token; every action needs it (entered once, kept in the
signed session cookie, SameSite=Strict) and a JSON body validated by
``shoplab.console.forms``. The live state reaches the page over Server-Sent Events,
one event a second, read by one sampler thread whatever the number of pages open.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx
from flask import Flask, Response, jsonify, render_template, request, session
from pydantic import BaseModel

from shop.kit.resilience.policy import PROFILES
from shoplab.console.actions import ActionRefused, ConsoleActions
from shoplab.console.forms import (
    TOXIC_KINDS,
    AppFaultForm,
    FaultForm,
    LabCheckForm,
    LoadForm,
    LoginForm,
    ProfileForm,
    RemoveForm,
    ValidationError,
    describe_errors,
)
from shoplab.console.layout import layout
from shoplab.console.live import SLOW_P95_S, VERY_SLOW_P95_S, LiveReader

TICK_S = 1.0
SLOW_EVERY = 3  # profiles, app faults and the Jaeger/Prometheus probes change rarely: read every 3rd tick


class Sampler:
    """Read the live state once a second while a page listens; expire fault leases every tick."""

    def __init__(self, stack: Any, actions: ConsoleActions) -> None:
        self.stack, self.actions = stack, actions
        self.reader = LiveReader(stack.topology)
        self.listeners = 0
        self.state: dict[str, Any] = {"seq": 0}
        self._slow: dict[str, Any] = {}
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="console-sampler", daemon=True)

    def start(self) -> None:
        """Start the sampler thread."""
        self._thread.start()

    def _links(self) -> dict[str, str | None]:
        t = self.stack.topology
        out: dict[str, str | None] = {}
        for name, url, probe in (("jaeger", f"http://{t.host}:{t.jaeger_ui_port}", "/"),
                                 ("prometheus", f"http://{t.host}:{t.prometheus_port}", "/-/ready")):
            try:
                out[name] = url if httpx.get(url + probe, timeout=0.5).status_code < 500 else None
            except httpx.HTTPError:
                out[name] = None
        return out

    def snapshot(self, tick: int) -> dict[str, Any]:
        """Return the whole live state (faults, edges, profiles, load, lab check)."""
        if tick % SLOW_EVERY == 0 or not self._slow:
            self._slow = {"profiles": self.actions.profiles(), "app_faults": self.actions.app_faults(),
                          "links": self._links()}
        now = time.monotonic()
        return {**self.reader.read(), **self._slow, "at": time.time(),
                "leases": [lease.to_json(now) for lease in list(self.actions.leases.values())],
                "load": self.actions.load_status(), "lab_check": dict(self.actions.lab_check)}

    def _loop(self) -> None:
        tick = 0
        while not self._stop.wait(TICK_S):
            self.actions.expire()
            if self.listeners <= 0:
                continue
            state = self.snapshot(tick)
            tick += 1
            with self._cond:
                state["seq"] = self.state["seq"] + 1
                self.state = state
                self._cond.notify_all()

    def events(self) -> Iterator[str]:
        """Yield one SSE message per new state until the page goes away."""
        with self._cond:
            self.listeners += 1
        try:
            seen = [-1]  # a list: the wait predicate reads the newest value
            while not self._stop.is_set():
                with self._cond:
                    self._cond.wait_for(lambda: self.state["seq"] != seen[0] or self._stop.is_set(), timeout=15)
                    state, changed = self.state, self.state["seq"] != seen[0]
                seen[0] = state["seq"]
                if changed and state["seq"] > 0:
                    yield f"data: {json.dumps(state)}\n\n"
                else:
                    yield ": keep-alive\n\n"
        finally:
            with self._cond:
                self.listeners -= 1

    def stop(self) -> None:
        """Stop the sampler thread and close its clients."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self.reader.close()


def create_app(stack: Any, *, secret_key: str | None = None) -> Flask:
    """Build the console for one running stack (anything with topology, admin_token, admin_headers, run_dir)."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY=secret_key or secrets.token_hex(32), SESSION_COOKIE_SAMESITE="Strict",
                      SESSION_COOKIE_HTTPONLY=True)
    actions = ConsoleActions(stack)
    sampler = Sampler(stack, actions)
    app.extensions["shoplab_console"] = {"actions": actions, "sampler": sampler}
    topology = stack.topology

    def authorised() -> bool:
        return hmac.compare_digest(str(session.get("token", "")), str(stack.admin_token))

    def error(message: str, status: int, **extra: Any) -> tuple[Response, int]:
        return jsonify({"error": message, **extra}), status

    def action(form_type: type[BaseModel] | None, do: Callable[[Any], Any]) -> Callable[[], Any]:
        def view() -> Any:
            if not authorised():
                return error("this action needs the admin token: enter it first (read-only until then)", 401)
            body = request.get_json(silent=True)
            if form_type is not None and not isinstance(body, dict):
                return error("send a JSON object (Content-Type: application/json)", 400)
            try:
                form = form_type.model_validate(body) if form_type is not None else None
            except ValidationError as exc:
                return error("invalid input", 400, fields=describe_errors(exc))
            try:
                result = do(form)
            except ActionRefused as exc:
                return error(str(exc), exc.status)
            return jsonify({"ok": True, "message": result if isinstance(result, str) else "done"})
        view.__name__ = f"action_{do.__name__}"
        return view

    @app.get("/")
    def index() -> str:
        prom = f"http://{topology.host}:{topology.prometheus_port}"
        jaeger = f"http://{topology.host}:{topology.jaeger_ui_port}"
        lay = layout(topology)
        for e in lay["edges"]:
            expr = (f'sum by (outcome) (rate(shoplab_dependency_requests_total{{caller="{e["caller"]}",'
                    f'dependency="{e["callee"]}"}}[1m]))')
            e["prometheus"] = f"{prom}/graph?g0.expr={quote(expr)}&g0.tab=0"
            e["jaeger"] = f"{jaeger}/search?service={quote(e['callee'])}&lookback=15m"
        from labs.model import load_all  # lazy: an install without labs/ keeps a working console
        return render_template("index.html.j2", layout=lay, toxic_kinds=TOXIC_KINDS, profiles=list(PROFILES),
                               services=topology.service_names, labs=load_all(topology=topology),
                               authorised=authorised(), slow_s=SLOW_P95_S, very_slow_s=VERY_SLOW_P95_S)

    @app.get("/events")
    def events() -> Response:
        return Response(sampler.events(), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.get("/api/labs/current")
    def current_lab() -> Response:
        from labs.model import LabInvalid, find_lab  # lazy, as in index()
        from labs.progress import read_progress

        number = read_progress(stack.run_dir).get("lab")
        if not number:
            return jsonify({"lab": None})
        try:
            lab = find_lab(number, topology=topology)
        except LabInvalid:
            return jsonify({"lab": None})
        return jsonify({"lab": lab.number, "title": lab.title, "task": lab.task,
                        "needs_answer": lab.check.needs_answer})

    @app.post("/login")
    def login() -> Any:
        try:
            form = LoginForm.model_validate(request.get_json(silent=True) or {})
        except ValidationError as exc:
            return error("invalid input", 400, fields=describe_errors(exc))
        if not hmac.compare_digest(form.token, str(stack.admin_token)):
            return error("wrong admin token", 403)
        session["token"] = form.token
        return jsonify({"ok": True, "message": "admin token accepted: actions are enabled"})

    @app.post("/logout")
    def logout() -> Response:
        session.pop("token", None)
        return jsonify({"ok": True, "message": "read-only"})

    app.add_url_rule("/api/faults", "/api/faults", action(FaultForm, actions.add_fault), methods=["POST"])
    app.add_url_rule("/api/app-faults", "/api/app-faults", action(AppFaultForm, actions.add_app_fault), methods=["POST"])
    app.add_url_rule("/api/faults/remove", "/api/faults/remove", action(RemoveForm, actions.remove_fault), methods=["POST"])
    app.add_url_rule("/api/profile", "/api/profile", action(
        ProfileForm, lambda f: f"profile {f.profile} on {len(actions.set_profile(f))} services"), methods=["POST"])
    app.add_url_rule("/api/load/start", "/api/load/start", action(LoadForm, actions.start_load), methods=["POST"])
    app.add_url_rule("/api/load/stop", "/api/load/stop", action(None, lambda _f: actions.stop_load()), methods=["POST"])
    app.add_url_rule("/api/labs/check", "/api/labs/check", action(LabCheckForm, actions.run_lab_check), methods=["POST"])

    @app.errorhandler(404)
    @app.errorhandler(405)
    def not_found(exc: Any) -> tuple[Response, int]:
        return error(str(exc), getattr(exc, "code", 404))

    return app
