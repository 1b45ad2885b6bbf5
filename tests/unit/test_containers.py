"""ContainerStack: process faults and status through a recording stand-in for the Compose CLI."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from shoplab import REPO_ROOT
from shoplab.runtime import compose
from shoplab.runtime.containers import ContainerStack, find_compose_command, is_containers_mode
from shoplab.runtime.errors import StackError, StackNotRunning
from shoplab.runtime.stack import Stack

pytestmark = pytest.mark.unit

FAKE_COMPOSE = """
import json, os, sys
with open(os.environ["FAKE_COMPOSE_LOG"], "a") as fh:
    fh.write(json.dumps(sys.argv[1:]) + "\\n")
if "ps" in sys.argv:
    sys.stdout.write(os.environ.get("FAKE_COMPOSE_PS", ""))
sys.exit(int(os.environ.get("FAKE_COMPOSE_EXIT", "0")))
"""


def _answer_all(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"status": "ok"})


def _make(
    tmp_path: Path, handler: Callable[[httpx.Request], httpx.Response] = _answer_all, **env: str
) -> tuple[ContainerStack, Path]:
    script = tmp_path / "fake_compose.py"
    script.write_text(FAKE_COMPOSE)
    log = tmp_path / "compose.log"
    full_env = {"PATH": os.environ.get("PATH", ""), "FAKE_COMPOSE_LOG": str(log), **env}
    stack = ContainerStack(
        tmp_path / "run",
        compose_command=[sys.executable, str(script)],
        http=httpx.Client(transport=httpx.MockTransport(handler)),
        env=full_env,
    )
    return stack, log


def _calls(log: Path) -> list[list[str]]:
    """Return the Compose subcommands run, without the project flags every call carries."""
    calls = []
    for line in log.read_text().splitlines():
        argv = json.loads(line)
        assert argv[:4] == ["--project-directory", str(REPO_ROOT), "-f", str(REPO_ROOT / compose.COMPOSE_PATH)]
        calls.append(argv[4:])
    return calls


def test_process_faults_map_to_compose_kill_stop_pause_and_unpause(tmp_path: Path) -> None:
    stack, log = _make(tmp_path)
    stack.kill_process("catalog")
    stack.stop_process("orders-worker")
    stack.signal_process("payments", "STOP")
    stack.signal_process("payments", "SIGCONT")
    stack.signal_process("toxiproxy", "TERM")
    assert _calls(log) == [
        ["kill", "-s", "SIGKILL", "catalog"],
        ["stop", "orders-worker"],
        ["pause", "payments"],
        ["unpause", "payments"],
        ["kill", "-s", "SIGTERM", "toxiproxy"],
    ]


def test_start_process_waits_until_the_service_answers_ready(tmp_path: Path) -> None:
    answers = iter([503, 503, 200])
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(next(answers))

    stack, log = _make(tmp_path, handler)
    stack.start_process("catalog", timeout_s=10)
    assert _calls(log) == [["start", "catalog"]]
    assert seen == ["http://127.0.0.1:8082/readyz"] * 3


def test_an_unknown_process_is_refused_naming_the_known_ones(tmp_path: Path) -> None:
    stack, log = _make(tmp_path)
    with pytest.raises(StackError, match=r"no process 'locust-master'.*orders-worker"):
        stack.kill_process("locust-master")
    assert not log.exists(), "nothing ran"


def test_a_failing_compose_command_raises_with_its_output(tmp_path: Path) -> None:
    stack, _log = _make(tmp_path, FAKE_COMPOSE_EXIT="1")
    with pytest.raises(StackError, match=r"`stop catalog` failed"):
        stack.stop_process("catalog")


def test_status_reads_compose_states_in_both_json_formats_and_probes_health(tmp_path: Path) -> None:
    rows = [
        {"Service": "catalog", "State": "running"},
        {"Service": "payments", "State": "paused"},
        {"Service": "orders-worker", "State": "running"},
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503 if request.url.port == 8082 else 200)

    for output in (json.dumps(rows), "\n".join(json.dumps(r) for r in rows)):
        stack, _log = _make(tmp_path, handler, FAKE_COMPOSE_PS=output)
        by_name = {s.name: s for s in stack.status()}
        assert set(by_name) == set(stack.process_names)
        assert (by_name["catalog"].state, by_name["catalog"].healthy) == ("RUNNING", False)
        assert (by_name["payments"].state, by_name["payments"].healthy) == ("PAUSED", None)
        assert (by_name["orders-worker"].state, by_name["orders-worker"].healthy) == ("RUNNING", None)
        assert by_name["gateway"].state == "MISSING"
        assert not by_name["payments"].is_up
        assert by_name["catalog"].url == "http://127.0.0.1:8082"
        assert by_name["orders-worker"].url is None


def test_attach_refuses_when_the_containers_do_not_answer(tmp_path: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    script = tmp_path / "unused"
    with pytest.raises(StackNotRunning, match="docker compose up -d"):
        ContainerStack.attach(
            tmp_path, compose_command=[str(script)], http=httpx.Client(transport=httpx.MockTransport(refuse))
        )
    stack = ContainerStack.attach(
        tmp_path, compose_command=[str(script)], http=httpx.Client(transport=httpx.MockTransport(_answer_all))
    )
    assert stack.topology.toxiproxy_port == 8474, "containers publish the documented ports"


def test_the_admin_token_is_the_env_one_else_the_compose_default(tmp_path: Path) -> None:
    stack, _log = _make(tmp_path)
    assert stack.admin_token == "shoplab-local-admin-token"
    assert compose.ADMIN_TOKEN.endswith(":-shoplab-local-admin-token}")
    stack, _log = _make(tmp_path, SHOPLAB_ADMIN_TOKEN="s3cret")
    assert stack.admin_headers() == {"Authorization": "Bearer s3cret"}


def test_stack_attach_returns_the_containers_when_the_mode_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPLAB_MODE", "containers")
    assert is_containers_mode()
    monkeypatch.setattr(ContainerStack, "is_running", lambda self: False)
    with pytest.raises(StackNotRunning, match="docker compose up -d"):
        Stack.attach(tmp_path)
    monkeypatch.setattr(ContainerStack, "is_running", lambda self: True)
    assert isinstance(Stack.attach(tmp_path), ContainerStack)
    monkeypatch.setenv("SHOPLAB_MODE", "native")
    assert not is_containers_mode()
    with pytest.raises(StackNotRunning, match="shoplab up"):
        Stack.attach(tmp_path / "no-native-stack")


def test_a_missing_compose_cli_fails_with_an_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(StackError, match="install Docker Engine with the compose plugin"):
        find_compose_command()
