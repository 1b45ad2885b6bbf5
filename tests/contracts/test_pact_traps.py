"""The pact-python trap ``verify.py`` works around, pinned so an upgrade that changes it is noticed."""

from __future__ import annotations

import pytest
from pact import Verifier

pytestmark = pytest.mark.contracts


def test_pacts_verifier_refuses_a_127_0_0_1_transport_unless_given_that_host() -> None:
    with pytest.raises(ValueError, match="Host mismatch"):
        Verifier("catalog").add_transport(url="http://127.0.0.1:8082")
    verifier = Verifier("catalog", host="127.0.0.1").add_transport(url="http://127.0.0.1:8082")
    assert "catalog" in str(verifier)
