"""OpenTelemetry tracing for the host (the ``otel`` extra: ``pip install 'beehive-actors[otel]'``).

``ActorHost(..., tracing=Tracing())``; :func:`inject` carries the current trace context into
events published from traced code. The middleware is described in
:mod:`beehive.middleware.tracing`; importing this module without the extra raises an
ImportError that names it.
"""

from beehive.middleware.tracing import Tracing, inject

__all__ = ["Tracing", "inject"]
