"""Choose which checkouts pay with the payment simulator's declining card (no Locust import: testable alone)."""

from __future__ import annotations

import math
import random

from shop.payments.model import DECLINE_CARD

# The reason orders gives a payment_failed order whose card the simulator declined.
DECLINED_REASON = "declined"


class CardChooser:
    """Say, checkout by checkout, whether the next one pays with the declining card.

    Stratified, not a coin per checkout: of the first n checkouts exactly floor(n * share + offset)
    decline (so within one of n * share, and one in every 1/share in a row), the offset seeded
    from the run's seed. One chooser per Locust process: its k-th checkout declines or not in
    every profile alike, whichever user happens to make it. A coin per user's checkout left a
    quick run's ~5 checkouts with no decline at all about a third of the time.
    """

    def __init__(self, share: float, seed: int) -> None:
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"decline share must be from 0 to 1, got {share!r}")
        self.share = share
        self.offset = random.Random(f"{seed}:decline").random()
        self.checkouts = 0

    def next_card(self) -> str | None:
        """Return the card for the next checkout: the declining card for ``share`` of them, else None."""
        k, self.checkouts = self.checkouts, self.checkouts + 1
        declines = math.floor((k + 1) * self.share + self.offset) > math.floor(k * self.share + self.offset)
        return DECLINE_CARD if declines else None
