"""The order-event message pact is verified against the relay's real message builder, and it bites."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from contracts import messages
from contracts.pactfiles import PACT_DIR

pytestmark = pytest.mark.contracts

PACT = PACT_DIR / "notifications-orders.json"


def test_the_relays_message_builder_meets_notifications_pact() -> None:
    result = messages.verify_message_pact(PACT)
    assert result.ok, result.output
    described = {i["description"] for i in json.loads(PACT.read_text())["interactions"]}
    assert described == {messages.description_of(k) for k in messages.EVENT_EXAMPLES}


def test_a_builder_that_drops_a_field_the_consumer_reads_fails_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    real = messages._produce

    def without_user(kind: str) -> dict[str, Any]:
        produced = real(kind)
        body = json.loads(produced["contents"])
        del body["user_id"]
        return {**produced, "contents": json.dumps(body).encode()}

    monkeypatch.setattr(messages, "_produce", without_user)
    result = messages.verify_message_pact(Path(PACT))
    assert not result.ok and result.failed_interactions
