"""A Locust user that requests one path as fast as it can (``BENCH_PATH``): the generator's ceiling."""

from __future__ import annotations

import os

from locust import FastHttpUser, constant, task


class PingUser(FastHttpUser):
    """No think time, one GET per iteration."""

    wait_time = constant(0)

    @task
    def ping(self) -> None:
        """Request the configured path."""
        self.client.get(os.environ.get("BENCH_PATH", "/"), name="ping")
