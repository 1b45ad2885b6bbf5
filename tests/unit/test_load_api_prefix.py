"""The load's API prefix: /api/v1 by default, /api on request (a shop from before v1), nothing else."""

from __future__ import annotations

import subprocess
import sys

import pytest

from loadtests.errors import LoadError
from loadtests.settings import LoadSettings
from loadtests.spec import LoadSpec
from shop.kit.public_api import LEGACY_PREFIX, V1_PREFIX

pytestmark = pytest.mark.unit


def test_the_default_is_the_versioned_api_and_the_prefix_round_trips_through_the_env() -> None:
    assert LoadSettings().api_prefix == V1_PREFIX
    assert LoadSettings.from_env({}).api_prefix == V1_PREFIX
    legacy = LoadSettings(api_prefix=LEGACY_PREFIX)
    assert legacy.to_env()["SHOPLAB_LOAD_API_PREFIX"] == "/api"
    assert LoadSettings.from_env(legacy.to_env()) == legacy


@pytest.mark.parametrize("prefix", ["", "/", "/api/", "/shop", "/api/v0", "/api/v1/products", "api/v1"])
def test_a_prefix_the_shop_has_not_is_refused_naming_the_variable(prefix: str) -> None:
    with pytest.raises(ValueError, match="SHOPLAB_LOAD_API_PREFIX"):
        LoadSettings(api_prefix=prefix)
    with pytest.raises(LoadError, match="SHOPLAB_LOAD_API_PREFIX"):
        LoadSpec(host="http://127.0.0.1:8080", api_prefix=prefix).validate()


def test_a_spec_passes_its_prefix_to_the_locust_processes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = LoadSpec(host="http://127.0.0.1:8080", api_prefix=LEGACY_PREFIX).settings(tmp_path).to_env()
    assert env["SHOPLAB_LOAD_API_PREFIX"] == LEGACY_PREFIX


@pytest.mark.parametrize(("prefix", "products"), [("", "/api/v1/products"), ("/api", "/api/products")])
def test_the_journeys_walk_the_prefix_their_process_was_given(prefix: str, products: str) -> None:
    # A fresh interpreter: the journeys read the prefix once, when Locust imports them.
    code = "from loadtests.journeys import API; print(API.products, API.product(7))"
    env = {"SHOPLAB_LOAD_API_PREFIX": prefix, "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == [products, products + "/7"]

