"""Log JSON with structlog: one line per event, carrying service, request and trace ids, never secrets.

Every event gets ``service``, ``request_id`` (inside a request), ``trace_id`` and
``span_id`` (inside a span). Values under secret-looking keys, bearer tokens, JWTs and
the admin token are replaced by ``[REDACTED]`` before rendering. Standard-library
records (gunicorn, werkzeug) go through the same processors.

Lines reach the stream through a ``LineWriter``: request threads append a rendered line
and return; one thread per process writes every pending line in a single call. Profiling
the shop under load showed one blocking write-and-flush per line, behind structlog's
print lock, as a fifth of each service's CPU samples.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Any, TextIO

import structlog
from flask import Flask, current_app, g, has_app_context, has_request_context

from shop.kit.config import KitSettings
from shop.kit.state import get_component
from shop.kit.telemetry import get_trace_ids

REDACTED = "[REDACTED]"
_SECRET_KEY = re.compile(
    r"pass(word|wd)?|secret|token|authorization|auth_header|api[_-]?key|cookie|credential|card", re.I
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_RESERVED = {"event", "level", "timestamp", "logger", "service", "request_id", "trace_id", "span_id"}

_state: dict[str, Any] = {"service": None, "secrets": (), "out": sys.stderr, "level": logging.INFO}


class LineWriter:
    """Write text to ``stream`` from one background thread per process, in batches, never dropping.

    A request thread only appends under a lock. The writer takes a batch every ``linger_s``
    while lines keep coming, and sleeps until woken only after a whole quiet ``linger_s``,
    so a busy process wakes nobody per line (profiling showed ``Condition.notify_all`` per
    line as 11-24 % of the gateway's and catalog's GIL time) and an idle one costs nothing.
    """

    def __init__(self, stream: TextIO, *, max_pending: int = 10_000, linger_s: float = 0.02) -> None:
        self._stream = stream
        self._pending: list[str] = []
        self._lock = threading.Lock()
        self._has_work = threading.Condition(self._lock)  # the writer thread waits here
        self._room = threading.Condition(self._lock)  # blocked producers and drain() wait here
        self._max_pending = max_pending
        self._linger_s = linger_s
        self._pid: int | None = None
        self._writing = False
        self._idle = False  # the writer thread waits for work
        self._lingering = False  # the writer thread waits for a batch to gather (cut short when full)

    def write(self, text: str) -> int:
        """Queue ``text``; block only while ``max_pending`` pieces wait (backpressure, no loss)."""
        with self._lock:
            if self._pid != os.getpid():  # first write in this process (a fork does not copy threads)
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="shoplab-log-writer", daemon=True).start()
            while len(self._pending) >= self._max_pending:
                self._room.wait()
            self._pending.append(text)
            if self._idle or (self._lingering and len(self._pending) >= self._max_pending):
                self._idle = False
                self._has_work.notify()
        return len(text)

    def writes_to(self, stream: TextIO) -> bool:
        """Say whether this writer's stream is ``stream``."""
        return self._stream is stream

    def flush(self) -> None:
        """Return at once: the writer thread flushes after every batch."""

    def drain(self, timeout_s: float = 5.0) -> None:
        """Wait until every queued piece has been written (at exit, and in tests)."""
        with self._lock:
            self._room.wait_for(lambda: not self._pending and not self._writing, timeout_s)

    def _run(self) -> None:
        while True:
            with self._lock:
                if len(self._pending) < self._max_pending:  # let the lines of this moment join the batch
                    self._lingering = True
                    self._has_work.wait(self._linger_s)
                    self._lingering = False
                if not self._pending:  # quiet for a whole linger: sleep until a line arrives
                    self._idle = True
                    while not self._pending:
                        self._has_work.wait()
                    self._idle = False
                    continue
                batch = "".join(self._pending)
                self._pending.clear()
                self._writing = True
                self._room.notify_all()
            try:
                self._stream.write(batch)
                self._stream.flush()
            except (OSError, ValueError):  # the stream closed at exit: nothing left to write to
                return
            finally:
                with self._lock:
                    self._writing = False
                    self._room.notify_all()


def _scrub_text(text: str, secrets: tuple[str, ...]) -> str:
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _JWT.sub(REDACTED, text)
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def _scrub(value: Any, secrets: tuple[str, ...], depth: int = 0) -> Any:
    if depth > 6:
        return value
    if isinstance(value, str):
        return _scrub_text(value, secrets)
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if isinstance(k, str) and _SECRET_KEY.search(k) else _scrub(v, secrets, depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(v, secrets, depth + 1) for v in value]
    return value


def redact_secrets(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Replace secret values (by key name, bearer/JWT shape, or the admin token itself)."""
    secrets: tuple[str, ...] = _state["secrets"]
    for key in list(event_dict):
        if key in _RESERVED:
            continue
        if _SECRET_KEY.search(key):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _scrub(event_dict[key], secrets)
    if isinstance(event_dict.get("event"), str):
        event_dict["event"] = _scrub_text(event_dict["event"], secrets)
    return event_dict


def add_context(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Add ``service``, ``request_id``, ``trace_id`` and ``span_id`` when known."""
    if "service" not in event_dict:
        service = None
        if has_app_context():
            service = current_app.name
        event_dict["service"] = service or _state["service"] or "-"
    if has_request_context() and "request_id" not in event_dict:
        rid = g.get("request_id")
        if rid:
            event_dict["request_id"] = rid
    ids = get_trace_ids()
    if ids is not None:
        event_dict.setdefault("trace_id", ids[0])
        event_dict.setdefault("span_id", ids[1])
    return event_dict


def _processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_context,
        structlog.processors.format_exc_info,
        redact_secrets,
    ]


def configure_logging(
    service: str, *, secrets: tuple[str, ...] = (), level: str | None = None, stream: Any = None
) -> None:
    """Configure structlog and the stdlib root logger to write JSON lines to ``stream`` (stderr)."""
    _state["service"] = service
    # Short values would redact half the log; a real admin token is long.
    _state["secrets"] = tuple(s for s in secrets if s and len(s) >= 8)
    out: Any = stream if stream is not None else _stderr_writer()  # a TextIO or the LineWriter over stderr
    level_no = logging.getLevelName((level or os.environ.get("SHOPLAB_LOG_LEVEL") or "INFO").upper())
    if not isinstance(level_no, int):
        level_no = logging.INFO
    _state["out"], _state["level"] = out, level_no
    structlog.configure(
        processors=[*_processors(), structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(level_no),
        # One write per line: a line never interleaves with a stdlib record on the same stream.
        logger_factory=structlog.WriteLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(),
            ],
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *_processors()],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_shoplab", False)]:
        root.removeHandler(old)
    handler._shoplab = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level_no)
    # httpx logs every request at INFO; the access line and the attempt spans already tell it.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(level_no, logging.WARNING))


def _stderr_writer() -> LineWriter:
    writer = _state.get("writer")
    if writer is None or not writer.writes_to(sys.stderr):  # stderr replaced (pytest's capture)
        if writer is not None:
            writer.drain()
        writer = _state["writer"] = LineWriter(sys.stderr)
        atexit.register(writer.drain)
    return writer


def init_app(app: Flask, env: Mapping[str, str] | None = None) -> None:
    """Configure JSON logs for ``app``'s process (the access line is written by ``shop.kit.request_telemetry``)."""
    settings = get_component(app, KitSettings)
    source = os.environ if env is None else env
    configure_logging(
        app.name,
        secrets=(settings.admin_token, source.get("SHOPLAB_JWT_SECRET", "")),
        level=source.get("SHOPLAB_LOG_LEVEL"),
    )


def access_log_enabled() -> bool:
    """Say whether an access line would be written (INFO is on)."""
    return bool(_state["level"] <= logging.INFO)


def write_access_line(line: str) -> None:
    """Queue one rendered access line on the process's log stream."""
    _state["out"].write(line)


def access_line(
    *,
    method: str,
    route: str,
    path: str,
    status: int,
    duration_ms: float,
    service: str,
    request_id: str | None,
    trace_ids: tuple[str, str] | None,
) -> str:
    """Render one access line: the JSON structlog would write, without its processor chain.

    The access line runs once per request, so it skips the generic chain: its keys are
    fixed and only the path can carry a secret, so only the path is scrubbed.
    """
    line: dict[str, Any] = {
        "method": method,
        "route": route,
        "path": _scrub_text(path, _state["secrets"]),
        "status": status,
        "duration_ms": duration_ms,
        "event": "request",
        "level": "info",
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "service": service,
    }
    if request_id:
        line["request_id"] = request_id
    if trace_ids is not None:
        line["trace_id"], line["span_id"] = trace_ids
    return json.dumps(line) + "\n"
