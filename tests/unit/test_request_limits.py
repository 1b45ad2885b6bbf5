"""gunicorn's request limits sit above every maximum the app declares, and its own refusals are JSON."""

from __future__ import annotations

import json

import pytest

from shop.kit.auth import MAX_TOKEN_LENGTH
from shop.kit.server import (
    LIMIT_REQUEST_FIELD_SIZE,
    LIMIT_REQUEST_LINE,
    gunicorn_limit_args,
    render_json_error,
)
from shop.topology import Topology
from shoplab.runtime.programs import native_programs

pytestmark = pytest.mark.unit


def test_every_service_runs_the_json_error_worker_with_explicit_nonzero_limits(tmp_path: object) -> None:
    progs = native_programs(Topology(), {"admin_token": "a", "jwt_secret": "j"}, run_dir=tmp_path,  # type: ignore[arg-type]
                            data_dir=tmp_path, observability_on=False, profile="resilient",  # type: ignore[arg-type]
                            extra_env={}, with_worker=False)
    services = [p for p in progs if "gunicorn" in p.command]
    assert len(services) == len(Topology().service_names)
    for prog in services:
        cmd = prog.command
        assert cmd[cmd.index("--worker-class") + 1] == "shop.kit.server.JsonErrorWorker"
        assert " ".join(gunicorn_limit_args()) in " ".join(cmd)
    limits = dict(zip(gunicorn_limit_args()[::2], gunicorn_limit_args()[1::2], strict=True))
    assert all(int(v) > 0 for v in limits.values())


def test_the_limits_sit_above_the_apps_declared_maxima() -> None:
    # gunicorn caps an explicit request line at 8190; a header field limit is taken as given.
    assert LIMIT_REQUEST_LINE == 8190
    assert LIMIT_REQUEST_FIELD_SIZE > len("Authorization: Bearer ") + MAX_TOKEN_LENGTH
    assert LIMIT_REQUEST_FIELD_SIZE > 10 * 1024  # a 10 KB header still gets the app's own answer


def test_gunicorns_own_refusal_is_written_in_the_json_error_shape() -> None:
    raw = render_json_error(414, "URI Too Long", "<script>" + "x" * 1000)
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 414 URI Too Long\r\n")
    assert b"Content-Type: application/json" in head
    assert f"Content-Length: {len(body)}".encode() in head
    err = json.loads(body)["error"]
    assert err["code"] == "uri_too_long" and len(err["message"]) <= 200 and len(err["request_id"]) == 32
