"""Reproducible randomness that does not depend on the order in which work happens."""

from __future__ import annotations

import random


def rng_for(seed: int, *key: object) -> random.Random:
    """A generator that depends only on ``seed`` and ``key`` (``rng_for(7, "fraud", order_id)``).

    Actors run in whatever order the broker and the event loop choose, so drawing from one
    shared generator would make outcomes depend on that order. String seeds are hashed with
    SHA-512, so this is stable across processes whatever ``PYTHONHASHSEED`` is.
    """
    return random.Random("/".join(map(str, (seed, *key))))
