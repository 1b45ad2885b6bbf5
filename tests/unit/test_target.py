"""Read a cluster target (``SHOPLAB_TARGET``): URLs from a file or the environment, secrets never from the file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from shop.topology import DEFAULT
from shoplab.commands.stack import up
from shoplab.runtime.errors import StackError, StackNotRunning
from shoplab.runtime.target import TargetStack, is_target_mode, load_target

pytestmark = pytest.mark.unit

URLS = {name: f"http://{name}.shop.svc:{DEFAULT.service(name).port}" for name in DEFAULT.service_names}
URLS["orders-worker"] = "http://orders-worker.shop.svc:8088"


def _write(tmp_path: Path, data: dict[str, object]) -> str:
    path = tmp_path / "cluster.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_a_target_file_gives_toxiproxys_and_every_services_url(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("s3cret\n")
    where = _write(tmp_path, {"toxiproxy": "http://toxiproxy.shop.svc:8474/", "services": URLS,
                              "admin_token_file": "token"})
    topology, token, jwt = load_target({"SHOPLAB_TARGET": where})
    assert topology.toxiproxy_url == "http://toxiproxy.shop.svc:8474"
    assert {n: topology.service_url(n) for n in DEFAULT.service_names} | {
        "orders-worker": topology.worker_metrics_url} == URLS
    assert token == "s3cret" and jwt is None  # the token file is read relative to the target file
    # names, edges and proxies stay the topology's
    assert [e.proxy_name for e in topology.edges] == [e.proxy_name for e in DEFAULT.edges]


def test_the_environment_overrides_the_file_and_can_replace_it(tmp_path: Path) -> None:
    where = _write(tmp_path, {"toxiproxy": "http://a:1", "services": URLS})
    env = {"SHOPLAB_TARGET": where, "SHOPLAB_ADMIN_TOKEN": "t", "SHOPLAB_TARGET_GATEWAY_URL": "http://gw:9"}
    topology, _, _ = load_target(env)
    assert topology.service_url("gateway") == "http://gw:9"
    assert topology.service_url("cart") == URLS["cart"]
    only_env = {"SHOPLAB_TARGET": "env", "SHOPLAB_ADMIN_TOKEN": "t", "SHOPLAB_JWT_SECRET": "j",
                "SHOPLAB_TARGET_TOXIPROXY_URL": "http://tp:1",
                **{f"SHOPLAB_TARGET_{n.upper().replace('-', '_')}_URL": u for n, u in URLS.items()}}
    topology, token, jwt = load_target(only_env)
    assert topology.toxiproxy_url == "http://tp:1" and (token, jwt) == ("t", "j")


def test_a_missing_url_an_unknown_service_or_no_token_is_refused_naming_it(tmp_path: Path) -> None:
    partial = {k: v for k, v in URLS.items() if k != "payments"}
    where = _write(tmp_path, {"toxiproxy": "http://a:1", "services": partial})
    with pytest.raises(StackError, match="no URL for payments.*SHOPLAB_TARGET_PAYMENTS_URL"):
        load_target({"SHOPLAB_TARGET": where, "SHOPLAB_ADMIN_TOKEN": "t"})
    where = _write(tmp_path, {"toxiproxy": "http://a:1", "services": {**URLS, "billing": "http://b:1"}})
    with pytest.raises(StackError, match="unknown service.*billing"):
        load_target({"SHOPLAB_TARGET": where, "SHOPLAB_ADMIN_TOKEN": "t"})
    where = _write(tmp_path, {"toxiproxy": "http://a:1", "services": URLS})
    with pytest.raises(StackError, match="no admin token"):
        load_target({"SHOPLAB_TARGET": where})
    with pytest.raises(StackError, match="cannot read"):
        load_target({"SHOPLAB_TARGET": str(tmp_path / "absent.yaml")})


def test_a_target_that_does_not_answer_is_an_error_that_starts_nothing(tmp_path: Path) -> None:
    where = _write(tmp_path, {"toxiproxy": "http://127.0.0.1:9", "services": {n: "http://127.0.0.1:9" for n in URLS}})
    env = {"SHOPLAB_TARGET": where, "SHOPLAB_ADMIN_TOKEN": "t"}
    assert is_target_mode(env) and not is_target_mode({})
    with pytest.raises(StackError, match="does not answer") as caught:
        TargetStack.attach(tmp_path / "run", env=env)
    # not StackNotRunning: `shoplab run` would start a native stack instead of failing
    assert not isinstance(caught.value, StackNotRunning)


def test_process_faults_up_and_down_are_refused_with_what_to_do_instead(tmp_path: Path) -> None:
    where = _write(tmp_path, {"toxiproxy": "http://a:1", "services": URLS})
    topology, token, jwt = load_target({"SHOPLAB_TARGET": where, "SHOPLAB_ADMIN_TOKEN": "t"})
    stack = TargetStack(topology, token, jwt, run_dir=tmp_path / "run")
    with pytest.raises(StackError, match="kubectl scale deploy/payments"):
        stack.kill_process("payments")
    with pytest.raises(StackError, match="Helm"):
        stack.up()
    with pytest.raises(StackError, match="helm uninstall"):
        stack.down()


def test_shoplab_up_refuses_to_start_a_native_stack_while_a_target_is_set(tmp_path: Path) -> None:
    result = CliRunner().invoke(up, ["-d"], env={"SHOPLAB_TARGET": str(tmp_path / "cluster.yaml"),
                                                             "SHOPLAB_RUN_DIR": str(tmp_path / "run")})
    assert result.exit_code == 1
    assert "SHOPLAB_TARGET is set" in result.output
    assert not (tmp_path / "run").exists()  # nothing was started
