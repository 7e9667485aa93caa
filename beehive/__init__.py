"""beehive: reactive cloud actors."""
