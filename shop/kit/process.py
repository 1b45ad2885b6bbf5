"""Start a service's background process (the orders worker, the notifications consumer) the same way."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from types import FrameType

import structlog

from shop.kit.logs import configure_logging
from shop.kit.telemetry import init_process

log = structlog.get_logger(__name__)


def start_process(name: str, admin_token: str) -> None:
    """Configure JSON logs (secrets redacted) and tracing for process ``name``."""
    configure_logging(name, secrets=(admin_token, os.environ.get("SHOPLAB_JWT_SECRET", "")))
    # SHOPLAB_EVENTS=amqp: pika logs a line per channel opened, noise beside the process's own
    logging.getLogger("pika").setLevel(logging.WARNING)
    init_process(name)


def stop_on_signals(name: str, stop: Callable[[], None]) -> None:
    """Call ``stop`` on SIGTERM or SIGINT, logging which signal came."""

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("process_signal", process=name, signal=signal.Signals(signum).name)
        stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
