"""beehive on Azure beyond the broker and the stores: :mod:`beehive.azure.functions`."""
