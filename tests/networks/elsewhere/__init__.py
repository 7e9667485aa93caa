"""Actors whose event models live in another module, named only through it (``events.X``):
the contract finds them from ``emits=[...]`` and ``event.body_as(...)``, not by name."""
