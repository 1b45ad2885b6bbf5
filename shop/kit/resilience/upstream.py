"""Name what can go wrong with one dependency call, and map each failure into the kit's error tree.

``UpstreamStatusError`` (a 5xx answer) and ``DeadlineSpent`` live only inside the client
(the breaker and tenacity must see them as failures); ``to_kit_error`` turns every failure
of a call into a ``DependencyUnavailable`` (503) or ``DependencyTimeout`` (504) with the
cause kept and ``details["reason"]`` saying which, so nothing else leaves the client.
"""

from __future__ import annotations

import email.utils
import time

import httpx
import pybreaker

from shop.kit.errors import DependencyError, DependencyTimeout, DependencyUnavailable


class UpstreamStatusError(Exception):
    """A dependency answered 5xx: raised inside the breaker so both it and tenacity see a failure."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"answered {response.status_code}")
        self.response = response


class DeadlineSpent(Exception):
    """No budget is left for another attempt (never retried)."""


def is_retryable(exc: BaseException) -> bool:
    """Say whether a failed attempt may be retried (a transport error or a 5xx answer)."""
    # CircuitBreakerError is deliberately absent: an open breaker must end the call, not be hammered.
    return isinstance(exc, httpx.TransportError | UpstreamStatusError)


def get_retry_after_s(exc: BaseException | None) -> float | None:
    """Return the ``Retry-After`` delay of a 5xx answer in seconds (seconds or HTTP-date), or None."""
    if not isinstance(exc, UpstreamStatusError):
        return None
    raw = exc.response.headers.get("Retry-After")
    if not raw:
        return None
    raw = raw.strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def to_kit_error(exc: BaseException, dependency: str, *, attempts: int) -> tuple[str, DependencyError]:
    """Return the request outcome label and the kit error a failed call answers (cause kept)."""
    dep = dependency
    err: DependencyError
    if isinstance(exc, pybreaker.CircuitBreakerError):
        outcome, reason = "breaker_open", "breaker_open"
        err = DependencyUnavailable(f"{dep}: circuit breaker is open", dependency=dep)
    elif isinstance(exc, DeadlineSpent):
        outcome, reason = "deadline_spent", "deadline_spent"
        err = DependencyTimeout(f"{dep}: the request's deadline is spent", dependency=dep)
    elif isinstance(exc, httpx.TimeoutException):
        outcome, reason = "timeout", "timeout"
        err = DependencyTimeout(f"{dep} timed out ({type(exc).__name__})", dependency=dep)
    elif isinstance(exc, UpstreamStatusError):
        status = exc.response.status_code
        outcome, reason = "server_error", "upstream_status"
        cls = DependencyTimeout if status == 504 else DependencyUnavailable
        err = cls(f"{dep} answered {status}", dependency=dep)
    else:
        outcome, reason = "unavailable", "unreachable"
        err = DependencyUnavailable(f"{dep} unreachable ({type(exc).__name__})", dependency=dep)
    err.details = {"dependency": dep, "reason": reason, "attempts": attempts}
    err.__cause__ = exc
    return outcome, err
