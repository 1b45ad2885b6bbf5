"""Serve a service with gunicorn: explicit request limits, and gunicorn's own refusals in JSON.

gunicorn parses the request line and headers before the app sees them, and answers what
breaks its limits itself with an HTML page. Two traps: a limit of 0 does not mean
"unlimited" for header fields (gunicorn 27 turns it into its 8190-byte default), and an
explicit request-line limit above 8190 is silently capped at 8190. So the limits are
spelled out here, above every maximum the app declares (headers of at most 128
characters, bearer tokens of at most ``MAX_TOKEN_LENGTH``), and ``JsonErrorWorker``
answers gunicorn's own 400/414/431 in the shop's JSON error shape, so a client never
gets HTML whatever it sends.
"""

from __future__ import annotations

import gc
import json
import socket
import uuid

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

# gunicorn's largest request line: an explicit larger value is capped to this.
LIMIT_REQUEST_LINE = 8190
# Above the app's longest header (a bearer token), so a 10 KB header still reaches the app.
LIMIT_REQUEST_FIELD_SIZE = 16384
LIMIT_REQUEST_FIELDS = 100

_CODES = {400: "bad_request", 403: "forbidden", 414: "uri_too_long", 417: "expectation_failed",
          431: "header_fields_too_large", 501: "not_implemented"}


def gunicorn_limit_args() -> list[str]:
    """Return the gunicorn options that set the request limits."""
    return [
        "--limit-request-line", str(LIMIT_REQUEST_LINE),
        "--limit-request-field_size", str(LIMIT_REQUEST_FIELD_SIZE),
        "--limit-request-fields", str(LIMIT_REQUEST_FIELDS),
    ]


def render_json_error(status: int, reason: str, message: str) -> bytes:
    """Return a whole HTTP/1.1 answer carrying the shop's JSON error body."""
    # Imported here, not at the top: gunicorn's master imports this module for the worker
    # class, and shop.kit.errors pulls in Flask: 15 MiB more in each of the 8 masters,
    # which never answer a request (a soak counted 24 MiB PSS per master).
    from shop.kit.errors import error_body

    body = error_body(status, _CODES.get(status, "internal" if status >= 500 else "bad_request"),
                      (message or reason)[:200])
    body["error"]["request_id"] = uuid.uuid4().hex
    data = json.dumps(body).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n")
    return head.encode("latin-1") + data


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """Write gunicorn's refusal to ``sock`` as JSON (the signature of ``gunicorn.util.write_error``)."""
    util.write_nonblock(sock, render_json_error(status_int, reason, mesg))


class JsonErrorWorker(ThreadWorker):
    """gunicorn's gthread worker whose own error answers are JSON, and whose start-up heap the GC skips."""

    def load_wsgi(self) -> None:
        """Build the app, then freeze what start-up allocated (``gc.freeze``) so collections skip it.

        A service holds ~96,000 tracked objects after start-up (Flask, SQLAlchemy, pydantic,
        OpenTelemetry); a full collection walks all of them (130-190 ms in catalog on the shared
        2 cores). Spans waiting up to 2 s in the export queue outlive the young generations, so a
        traced service reaches the full-collection threshold every few seconds; frozen, that
        walk covers only what was allocated since.
        """
        super().load_wsgi()
        gc.freeze()

    def init_process(self) -> None:
        """Swap gunicorn's HTML error writer for the JSON one in this worker process, then serve."""
        # Worker.handle_error maps each parse error to its status and calls util.write_error;
        # replacing that one function keeps gunicorn's mapping and changes only the body.
        util.write_error = write_json_error
        super().init_process()
