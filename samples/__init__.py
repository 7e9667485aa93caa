"""Samples built on beehive: run them with ``python -m samples.<name>``."""
