"""Unit tests of the orders settings (the service and the worker read the same env)."""

from __future__ import annotations

import pytest

from shop.orders.config import Settings

pytestmark = pytest.mark.unit

BASE = {"SHOPLAB_ADMIN_TOKEN": "t", "CART_URL": "http://c", "CATALOG_URL": "http://k",
        "PAYMENTS_URL": "http://p", "NOTIFICATIONS_URL": "http://n", "SHOPLAB_DATA_DIR": "/tmp/x"}


def test_the_worker_metrics_port_follows_the_orders_ports_offset_when_not_set() -> None:
    assert Settings.from_env({**BASE, "ORDERS_PORT": "8284"}).worker_metrics_port == 8288
    assert Settings.from_env(BASE).worker_metrics_port == 8088


def test_explicit_worker_metrics_port_and_host_win() -> None:
    settings = Settings.from_env({**BASE, "ORDERS_WORKER_METRICS_PORT": "9999",
                                  "ORDERS_WORKER_METRICS_HOST": "0.0.0.0"})
    assert (settings.worker_metrics_port, settings.worker_metrics_host) == (9999, "0.0.0.0")


def test_the_database_lives_in_the_data_dir_and_the_poll_interval_is_tunable() -> None:
    settings = Settings.from_env({**BASE, "ORDERS_WORKER_POLL_S": "0.5"})
    assert str(settings.db_path) == "/tmp/x/orders.sqlite3" and settings.poll_interval_s == 0.5
    assert Settings.from_env(BASE).db_path.name == "orders.sqlite3"


def test_the_worker_finds_the_orders_service_for_its_profile() -> None:
    assert Settings.from_env({**BASE, "ORDERS_PORT": "8284"}).orders_url == "http://127.0.0.1:8284"
    assert Settings.from_env({**BASE, "ORDERS_SELF_URL": "http://orders:8084"}).orders_url == "http://orders:8084"
    assert Settings.from_env(BASE).orders_url is None
