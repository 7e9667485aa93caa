"""``beehive run --processes N``: N worker processes under one supervisor.

The supervisor runs no actors. It starts N copies of the same ``beehive run`` command (each
with ``--processes 1`` and an endpoint of its own on a free loopback port), and:

- forwards SIGTERM and SIGINT to every worker, and exits once all have stopped (a worker still
  running ``grace`` seconds plus a margin later is killed);
- restarts a worker that dies, after a backoff that grows while it keeps dying young, and logs
  it (``beehive_worker_restarts_total`` counts them); a worker that exits with code 2 (its
  configuration is wrong, and would be at every restart) stops them all, and the supervisor
  exits with 2;
- serves the endpoint on ``--host``/``--port``: ``/healthz`` while it lives, ``/readyz`` only
  when every worker is ready, ``/metrics`` the workers' metrics added up (queue depths, which
  every worker sees alike, are taken once: the largest).

This is how Dramatiq, Celery and uvicorn use a machine's cores; in containers keep one process
and scale by replicas. With ``--backend memory`` each worker has its own in-memory broker.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from beehive.backoff import Backoff
from beehive.web._probe import fetch
from beehive.web._server import Server

logger = logging.getLogger("beehive.supervisor")

SIGNALS: Final = (signal.SIGTERM, signal.SIGINT)
RESTART_BACKOFF: Final = Backoff(initial=0.5, factor=2.0, maximum=30.0)
HEALTHY_RUN: Final = 30.0
"""A worker that ran this many seconds before dying is restarted without delay growth."""
KILL_MARGIN: Final = 10.0
"""Seconds past ``grace`` a worker may take to exit before it is killed."""
PROBE_TIMEOUT: Final = 2.0
CONFIGURATION_ERROR: Final = 2  # what beehive exits with when it is called or configured wrong
_TAKEN_ONCE: Final = frozenset({"beehive_queue_messages", "process_start_time_seconds"})
"""Families every worker reports alike (or whose sum means nothing): the largest is kept."""
RESTARTS: Final = "beehive_worker_restarts_total"
"""The supervisor's own metric: worker processes restarted after dying."""


@dataclass(slots=True)
class Worker:
    """One worker process and the loopback port of its endpoint."""

    index: int
    port: int = 0
    process: asyncio.subprocess.Process | None = None
    restarts: int = 0

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def signal(self, signum: int) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signum)


@dataclass(slots=True)
class Supervisor:
    """Runs ``command`` (a ``beehive run`` argument list) in ``processes`` workers."""

    command: Sequence[str]
    processes: int
    host: str
    port: int
    grace: float
    workers: list[Worker] = field(default_factory=list)
    exit_code: int = 0

    def __post_init__(self) -> None:
        self.workers = [Worker(index) for index in range(self.processes)]

    async def run(self) -> int:
        """Supervise until SIGTERM or SIGINT; 0 once every worker has stopped."""
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in SIGNALS:
            loop.add_signal_handler(signum, stopping.set)
        server = Server(self.app(), self.host, self.port)
        try:
            await server.start()
            logger.info(
                "supervising %d workers; health and metrics on http://%s:%d",
                self.processes,
                self.host,
                server.port,
                extra={"port": server.port},
            )
            keepers = [asyncio.create_task(self._keep(w, stopping)) for w in self.workers]
            await stopping.wait()
            logger.info("stopping %d workers, waiting up to %gs", self.processes, self.grace)
            for worker in self.workers:
                worker.signal(signal.SIGTERM)
            _, late = await asyncio.wait(keepers, timeout=self.grace + KILL_MARGIN)
            for worker in self.workers:
                if worker.running:
                    logger.warning("worker %d did not stop in time: killed", worker.index)
                    worker.signal(signal.SIGKILL)
            await asyncio.gather(*late)
        finally:
            for signum in SIGNALS:
                loop.remove_signal_handler(signum)
            await server.aclose()
        logger.info("stopped")
        return self.exit_code

    async def _keep(self, worker: Worker, stopping: asyncio.Event) -> None:
        """Run ``worker`` until the supervisor stops, restarting it when it dies."""
        young_deaths = 0
        while not stopping.is_set():
            worker.port = _free_port()
            started = time.monotonic()
            worker.process = await asyncio.create_subprocess_exec(
                *self._worker_command(worker.port)
            )
            if stopping.is_set():  # the signal came while it was starting
                worker.signal(signal.SIGTERM)
            code = await worker.process.wait()
            if stopping.is_set():
                return
            if code == CONFIGURATION_ERROR:
                logger.error("worker %d found a configuration error: stopping", worker.index)
                self.exit_code = CONFIGURATION_ERROR
                stopping.set()
                return
            young_deaths = 0 if time.monotonic() - started >= HEALTHY_RUN else young_deaths + 1
            delay = RESTART_BACKOFF.delay(young_deaths)
            worker.restarts += 1
            logger.warning(
                "worker %d (pid %d) exited with code %s; restarting it in %.1fs",
                worker.index,
                worker.process.pid,
                code,
                delay,
            )
            try:
                await asyncio.wait_for(stopping.wait(), delay)
            except TimeoutError:
                continue

    def _worker_command(self, port: int) -> list[str]:
        # Options given last win: each worker is a one-process host on a loopback port.
        return [
            sys.executable,
            "-m",
            "beehive",
            *self.command,
            *("--processes", "1", "--host", "127.0.0.1", "--port", str(port)),
        ]

    async def ready(self) -> bool:
        """Whether every worker runs and answers ready."""
        if not all(worker.running for worker in self.workers):
            return False
        answers = await asyncio.gather(
            *(_get(worker.port, "/readyz") for worker in self.workers), return_exceptions=True
        )
        return all(isinstance(answer, tuple) and answer[0] == 200 for answer in answers)

    async def metrics(self) -> WorkerMetrics:
        """The running workers' metrics added up, and the supervisor's restart counter."""
        running = [worker for worker in self.workers if worker.running]
        answers = await asyncio.gather(
            *(_get(worker.port, "/metrics") for worker in running), return_exceptions=True
        )
        texts = [body for answer in answers if isinstance(answer, tuple) for _, body in [answer]]
        return WorkerMetrics(texts, sum(worker.restarts for worker in self.workers))

    def app(self) -> Starlette:
        async def healthz(request: Request) -> Response:
            return PlainTextResponse("ok\n")

        async def readyz(request: Request) -> Response:
            if await self.ready():
                return PlainTextResponse("ready\n")
            return PlainTextResponse("not ready\n", 503)

        async def metrics(request: Request) -> Response:
            encode, content_type = choose_encoder(request.headers.get("accept") or "")
            found = CollectorRegistry(auto_describe=False)
            found.register(await self.metrics())
            return Response(encode(found), headers={"Content-Type": content_type})

        return Starlette(
            routes=[
                Route("/healthz", healthz, methods=["GET"]),
                Route("/readyz", readyz, methods=["GET"]),
                Route("/metrics", metrics, methods=["GET"]),
            ]
        )


class WorkerMetrics(Collector):
    """The workers' expositions (Prometheus text) added up sample by sample, and
    :data:`RESTARTS`; encoded by ``prometheus_client`` like the workers' own.

    Counters, histograms and most gauges sum across workers; the families in ``_TAKEN_ONCE``
    and ``*_info`` keep their largest value. An exposition that does not parse is left out.
    """

    def __init__(self, texts: Iterable[str], restarts: int) -> None:
        self._families: dict[str, Metric] = {}
        self._values: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
        for text in texts:
            try:
                parsed = list(text_string_to_metric_families(text))
            except ValueError as error:
                logger.debug("a worker's metrics did not parse: %s", error)
                continue
            for family in parsed:
                self._add(family)
        self._restarts = restarts

    def _add(self, family: Metric) -> None:
        self._families.setdefault(family.name, family)
        values = self._values.setdefault(family.name, {})
        once = family.name in _TAKEN_ONCE or family.name.endswith("_info")
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            known = values.get(key)
            if known is None:
                values[key] = sample.value
            else:
                values[key] = max(known, sample.value) if once else known + sample.value

    def collect(self) -> Iterator[Metric]:
        for name, parsed in self._families.items():
            family = Metric(parsed.name, parsed.documentation, parsed.type, parsed.unit)
            family.samples = [
                Sample(sample, dict(labels), value)
                for (sample, labels), value in self._values[name].items()
            ]
            yield family
        yield CounterMetricFamily(
            RESTARTS, "Worker processes restarted after dying.", value=self._restarts
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _get(port: int, path: str) -> tuple[int, str]:
    """``GET path`` from a worker's endpoint: its status and body."""
    async with asyncio.timeout(PROBE_TIMEOUT):
        return await asyncio.to_thread(fetch, port, path, PROBE_TIMEOUT)
