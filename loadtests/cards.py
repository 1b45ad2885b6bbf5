"""Choose which checkouts pay with the payment simulator's declining card (no Locust import: testable alone)."""

from __future__ import annotations

import random

from shop.payments.model import DECLINE_CARD

# The reason orders gives a payment_failed order whose card the simulator declined.
DECLINED_REASON = "declined"


class CardChooser:
    """Draw, checkout by checkout, whether a shopper pays with the declining card.

    Its own random stream (seeded from the user's seed) keeps the sequence the same in every
    profile: faults that abort journeys and change how often the user's other stream is
    drawn cannot shift which checkouts decline.
    """

    def __init__(self, share: float, seed: int) -> None:
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"decline share must be from 0 to 1, got {share!r}")
        self.share = share
        self.rng = random.Random(f"{seed}:decline")

    def next_card(self) -> str | None:
        """Return the card for the next checkout: the declining card for ``share`` of them, else None."""
        # one draw per checkout even at share 0 or 1, so the stream position only counts checkouts
        declines = self.rng.random() < self.share
        return DECLINE_CARD if declines else None
