"""A tiny application used by the discovery, DI and host tests."""
