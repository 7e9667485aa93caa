"""``beehive run``: host the actors until SIGTERM or SIGINT, then stop within the grace period.

While it runs, ``/healthz``, ``/readyz`` and ``/metrics`` answer on ``--port``: ready once the
topology is set up and the consumers run, not ready again from the moment it starts stopping.
With ``--dashboard``, the same port serves the live dashboard at ``/`` (read-only unless
``BEEHIVE_DASHBOARD_TOKEN`` is set: then its replay button works for whoever has the token).
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import logging
import os
import signal
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from beehive import logs
from beehive.actors import ActorDescriptor
from beehive.cli._common import (
    CommandError,
    add_backend,
    add_flag,
    add_option,
    add_selection,
    import_module,
    load_container,
    load_descriptors,
    make_operator,
    modules_of,
    setting,
)
from beehive.errors import ActorConfigurationError
from beehive.host import ActorHost
from beehive.inbox import Inbox
from beehive.journal import Journal
from beehive.middleware.base import Middleware
from beehive.queues.base import QueueOperator
from beehive.queues.memory import InMemoryQueueOperator
from beehive.versions import find_upcasters
from beehive.web import Server, endpoint

if TYPE_CHECKING:
    from beehive.dashboard import Dashboard

logger = logging.getLogger("beehive.cli")

SIGNALS = (signal.SIGTERM, signal.SIGINT)
DASHBOARD_TOKEN = "BEEHIVE_DASHBOARD_TOKEN"


class StartError(Exception):
    """The host could not start (the broker refused or could not be reached): exit code 1."""


class _StoppedStarting(BaseException):
    """SIGTERM came while importing the actors or setting up, before the host ran.

    A BaseException, so that code wrapping the user's imports in ``except Exception`` lets
    it through.
    """


def _stop_starting(signum: int, frame: object) -> None:
    raise _StoppedStarting


def configure(parser: argparse.ArgumentParser) -> None:
    add_selection(parser)
    add_option(
        parser,
        "--container",
        metavar="MODULE:NAME",
        help="dependency-injector container (class or instance) providing actors' parameters",
    )
    add_backend(parser)
    add_option(
        parser,
        "--host",
        help="address of the HTTP endpoint (0.0.0.0 to be reached from other machines; the "
        "container image sets it)",
    )
    add_option(parser, "--port", help="port of the health/metrics endpoint")
    add_option(
        parser,
        "--grace",
        metavar="SECONDS",
        help="on SIGTERM, how long in-flight messages may take to finish",
    )
    add_option(
        parser,
        "--poll-wait",
        metavar="SECONDS",
        help="how long one long-poll of the broker waits",
    )
    add_option(
        parser,
        "--processes",
        metavar="N",
        help="run N worker processes under one supervisor, which restarts a worker that dies "
        "and serves the endpoint for all (containers: keep 1 and scale by replicas)",
    )
    add_flag(
        parser,
        "--dashboard",
        help="serve the live dashboard at / on the endpoint's port (replay needs "
        f"{DASHBOARD_TOKEN} set)",
    )
    add_flag(
        parser,
        "--journal",
        help="record every message handled in the event journal (for beehive trace and the "
        "dashboard's journey search): in the Azure tables BEEHIVE_STORAGE_CONNECTION_STRING or "
        "BEEHIVE_STORAGE_TABLE_ENDPOINT names, or the PostgreSQL database BEEHIVE_POSTGRES_DSN "
        "names, else in memory on the memory backend",
    )
    add_flag(
        parser,
        "--tracing",
        help="trace every message with OpenTelemetry, exported over OTLP as the standard "
        "OTEL_* variables say (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, ...); needs "
        "the otel extra",
    )
    add_option(parser, "--log-format", help=f"one of {', '.join(logs.FORMATS)}")
    add_option(
        parser,
        "--log-level",
        help="DEBUG, INFO, WARNING or ERROR: INFO tells what happened (starts, stops, retries, "
        "dead letters, a summary at stop), DEBUG adds a line per message and the Azure SDK's "
        "HTTP requests",
    )
    add_flag(
        parser,
        "--reload",
        help="for development only: restart the host whenever a .py or .toml file under "
        "--app-dir changes (needs the reload extra)",
    )


def main(args: argparse.Namespace) -> int:
    try:
        logs.configure(args.log_format, args.log_level)
    except ValueError as error:
        raise CommandError(str(error)) from None
    if args.grace < 0 or args.poll_wait <= 0:
        raise CommandError("--grace cannot be negative and --poll-wait must be positive")
    if args.reload and args.processes > 1:
        raise CommandError("--reload restarts one process: use it with --processes 1")
    if args.reload:
        from beehive.cli._reload import serve_reloading

        return serve_reloading(args)
    if args.processes > 1:
        if args.dashboard:
            raise CommandError(
                "--dashboard shows one host; with --processes above 1 each worker is its own "
                "host: run the dashboard with --processes 1 (scale with more replicas)"
            )
        from beehive._supervisor import Supervisor

        load_descriptors(args)  # a mistake is one line here, not one per worker
        supervisor = Supervisor(args.argv, args.processes, args.host, args.port, args.grace)
        return asyncio.run(supervisor.run())
    # As PID 1 in a container, a signal with no handler is ignored: until serve() installs its
    # own, SIGTERM (importing the actors, building the container, initialising its resources)
    # would wait for SIGKILL.
    previous = signal.signal(signal.SIGTERM, _stop_starting)
    try:
        descriptors = load_descriptors(args)
        container = load_container(args.container)
        return asyncio.run(serve(args, descriptors, container))
    except _StoppedStarting:
        logger.info("stopped while starting")
        return 0
    except StartError as error:
        print(f"beehive: error: {error}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)


async def serve(
    args: argparse.Namespace,
    descriptors: list[ActorDescriptor],
    container: Any | None,
    operator: QueueOperator | None = None,
) -> int:
    """Run the host and the endpoint until a signal; 0 after a graceful stop.

    The operator is built from ``args`` unless given (tests pass one to publish into it);
    either way it is closed on the way out. The container's resources (dependency-injector
    ``Resource`` providers: clients, connections) are initialised first and shut down last.
    """
    await _resources(container, "init_resources")
    try:
        return await _serve(args, descriptors, container, operator)
    finally:
        await _resources(container, "shutdown_resources")


async def _resources(container: Any | None, method: str) -> None:
    outcome = getattr(container, method, lambda: None)()
    if inspect.isawaitable(outcome):
        await outcome


async def _serve(
    args: argparse.Namespace,
    descriptors: list[ActorDescriptor],
    container: Any | None,
    operator: QueueOperator | None,
) -> int:
    inbox = inbox_for(descriptors, container, args.backend)
    exporting = tracing_for(os.environ) if getattr(args, "tracing", False) else None
    journal = journal_for(args.backend, os.environ) if getattr(args, "journal", False) else None
    if operator is None:
        operator = make_operator(
            args.backend, os.environ, servicebus_namespace=args.servicebus_namespace
        )
    host = ActorHost(
        operator,
        descriptors,
        container=container,
        poll_wait=args.poll_wait,
        stop_grace=args.grace,
        inbox=inbox,
        journal=journal,
        tracing=exporting.tracing if exporting is not None else None,
        upcasters=find_upcasters(*map(import_module, modules_of(args))),
    )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in SIGNALS:
        loop.add_signal_handler(signum, stopping.set)
    token = setting("dashboard_token") or None
    dashboard = dashboard_for(host, token) if getattr(args, "dashboard", False) else None
    app = endpoint(
        host, ready=lambda: host.running and not stopping.is_set(), dashboard=dashboard, token=token
    )
    server = Server(app, args.host, args.port)
    try:
        try:
            await server.start()
        except OSError as error:
            where = f"{args.host}:{args.port}"
            raise CommandError(f"cannot listen on {where}: {error.strerror}") from None
        logger.info(
            "health and metrics on http://%s:%d",
            args.host,
            server.port,
            extra={"port": server.port},
        )
        if dashboard is not None:
            logger.info("dashboard on http://%s:%d/ (%r)", args.host, server.port, dashboard)
        if await _start(host, stopping):
            running = [d.name for d in descriptors if d.enabled]
            logger.info(
                "running %d actors on %s: %s", len(running), args.backend, ", ".join(running)
            )
            await stopping.wait()
        logger.info("stopping, waiting up to %gs for messages in flight", args.grace)
        await host.stop(args.grace)
        report(host, operator)
    finally:
        for signum in SIGNALS:
            loop.remove_signal_handler(signum)
        await server.aclose()
        await operator.close()
        close = getattr(journal.store, "close", None) if journal is not None else None
        if close is not None:
            await close()
        if exporting is not None:
            await asyncio.to_thread(exporting.provider.shutdown)  # sends what is buffered
    logger.info("stopped")
    return 0


def report(host: ActorHost, operator: QueueOperator) -> None:
    """What the host did, in one line; and, on the memory backend, what stopping loses."""
    totals = Counter[str]()
    for stats in host.stats().values():
        totals.update(
            received=stats.received,
            succeeded=stats.succeeded,
            retried=stats.retried,
            dead_lettered=stats.dead_lettered,
        )
    logger.info(
        "handled %d messages: %d succeeded, %d retried, %d dead-lettered",
        totals["received"],
        totals["succeeded"],
        totals["retried"],
        totals["dead_lettered"],
        extra=dict(totals),
    )
    lost = operator.pending if isinstance(operator, InMemoryQueueOperator) else 0
    if lost:
        logger.warning(
            "%d queued %s lost: the in-memory broker keeps nothing when it stops "
            "(run on rabbitmq or servicebus to keep them)",
            lost,
            "message is" if lost == 1 else "messages are",
            extra={"lost": lost},
        )


def dashboard_for(host: ActorHost, token: str | None) -> Dashboard:
    """The dashboard of ``host``; replay and send are on with a token (``BEEHIVE_DASHBOARD_TOKEN``:
    from the environment only, never the command line, where any process could read it)."""
    from beehive.dashboard import Dashboard

    return Dashboard(host, token=token, journey=host.journal)


@dataclass(frozen=True, slots=True)
class Exporting:
    """``beehive run --tracing``: the host's tracing, and the SDK provider to flush at stop."""

    tracing: Middleware
    provider: Any


def tracing_for(environ: Mapping[str, str]) -> Exporting:
    """OpenTelemetry tracing exported over OTLP/HTTP, configured by the standard ``OTEL_*``
    variables (endpoint, headers, timeout, service name, resource attributes, sampler)."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        from beehive.tracing import Tracing
    except ImportError:
        raise CommandError("--tracing needs: pip install 'beehive-actors[otel]'") from None
    service = environ.get("OTEL_SERVICE_NAME") or "beehive"
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return Exporting(Tracing(tracer_provider=provider), provider)


def journal_for(backend: str, environ: Mapping[str, str]) -> Journal:
    """The journal of ``beehive run --journal``: in the Azure tables or PostgreSQL database the
    environment names (shared by every replica, read by ``beehive trace``), else in memory on
    the memory backend."""
    from beehive.cli.trace import WHERE_JOURNALS_ARE, journal_from

    journal = journal_from(environ, setting("storage_table_prefix", environ))
    if journal is not None:
        return journal
    if backend == "memory":
        return Journal.in_memory()
    raise CommandError(
        f"--journal on {backend} needs a journal every replica shares: set {WHERE_JOURNALS_ARE}"
    )


def inbox_for(
    descriptors: list[ActorDescriptor], container: Any | None, backend: str
) -> Inbox | None:
    """The inbox idempotent actors need: the container's ``inbox`` provider, or an in-memory
    one on the in-memory backend (everything is in this one process then anyway)."""
    idempotent = [d.name for d in descriptors if d.idempotent]
    if not idempotent:
        return None
    provided = getattr(container, "inbox", None) if container is not None else None
    if provided is None:
        if backend == "memory":
            return Inbox.in_memory()
        raise CommandError(
            f"{', '.join(idempotent)} need an inbox shared by every replica: give the "
            "container an 'inbox' provider (Inbox over a collection store)"
        )
    inbox = provided if isinstance(provided, Inbox) else provided()
    if not isinstance(inbox, Inbox):
        raise CommandError(f"the container's 'inbox' gave {type(inbox).__name__}, not an Inbox")
    return inbox


async def _start(host: ActorHost, stopping: asyncio.Event) -> bool:
    """Start the host; False when a signal came first (a broker may take long to answer)."""
    starting = asyncio.create_task(host.start())
    signalled = asyncio.create_task(stopping.wait())
    await asyncio.wait({starting, signalled}, return_when=asyncio.FIRST_COMPLETED)
    signalled.cancel()
    if not starting.done():
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        return False
    try:
        starting.result()
    except ActorConfigurationError as error:
        raise CommandError(str(error)) from None
    except Exception as error:
        logger.debug("the host failed to start", exc_info=error)
        raise StartError(f"cannot start the host: {type(error).__name__}: {error}") from None
    return True
