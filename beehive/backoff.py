"""Retry delays: exponential backoff with jitter, capped."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before retry number ``attempt`` (1 for the first retry).

    ``initial * factor ** (attempt - 1)``, capped at ``maximum``, then spread by ``jitter``
    (a fraction: 0.2 gives ±20%) so that replicas failing together do not retry together.
    """

    initial: float = 1.0
    factor: float = 2.0
    maximum: float = 60.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.initial < 0 or self.maximum < 0:
            raise ValueError("backoff delays cannot be negative")
        if self.factor < 1:
            raise ValueError(f"backoff factor must be at least 1, got {self.factor}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"backoff jitter must be between 0 and 1, got {self.jitter}")

    def delay(self, attempt: int) -> float:
        base = min(self.maximum, self.initial * self.factor ** max(attempt - 1, 0))
        return base * random.uniform(1 - self.jitter, 1 + self.jitter)
