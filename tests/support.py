"""Helpers every test tier shares: polling with a deadline instead of sleeping (the runtime's own)."""

from __future__ import annotations

from shoplab.runtime.errors import PollTimeout
from shoplab.runtime.polling import poll_until

__all__ = ["PollTimeout", "poll_until"]
