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
import math
import signal
import socket
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from beehive.backoff import Backoff
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

    async def metrics(self) -> str:
        """The running workers' metrics added up, and the supervisor's restart counter."""
        running = [worker for worker in self.workers if worker.running]
        answers = await asyncio.gather(
            *(_get(worker.port, "/metrics") for worker in running), return_exceptions=True
        )
        texts = [body for answer in answers if isinstance(answer, tuple) for _, body in [answer]]
        restarts = sum(worker.restarts for worker in self.workers)
        return merge_metrics(texts) + (
            "# HELP beehive_worker_restarts_total Worker processes restarted after dying.\n"
            "# TYPE beehive_worker_restarts_total counter\n"
            f"beehive_worker_restarts_total {restarts}\n"
        )

    def app(self) -> Starlette:
        async def healthz(request: Request) -> Response:
            return PlainTextResponse("ok\n")

        async def readyz(request: Request) -> Response:
            if await self.ready():
                return PlainTextResponse("ready\n")
            return PlainTextResponse("not ready\n", 503)

        async def metrics(request: Request) -> Response:
            return PlainTextResponse(await self.metrics(), media_type="text/plain; version=0.0.4")

        return Starlette(
            routes=[
                Route("/healthz", healthz, methods=["GET"]),
                Route("/readyz", readyz, methods=["GET"]),
                Route("/metrics", metrics, methods=["GET"]),
            ]
        )


def merge_metrics(texts: Iterable[str]) -> str:
    """Prometheus text expositions added up sample by sample (same name and labels).

    Counters, histograms and most gauges sum across workers; the families in ``_TAKEN_ONCE``
    keep their largest value.
    """
    families: dict[str, tuple[str, str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]] = {}
    for text in texts:
        for family in text_string_to_metric_families(text):
            _, _, values = families.setdefault(family.name, (family.type, family.documentation, {}))
            once = family.name in _TAKEN_ONCE or family.name.endswith("_info")
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                known = values.get(key)
                if known is None:
                    values[key] = sample.value
                else:
                    values[key] = max(known, sample.value) if once else known + sample.value
    lines: list[str] = []
    for name, (kind, documentation, values) in families.items():
        help_text = documentation.replace("\\", r"\\").replace("\n", r"\n")
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        for (sample_name, labels), value in values.items():
            shown = ",".join(f'{key}="{_escaped(label)}"' for key, label in labels)
            lines.append(f"{sample_name}{{{shown}}}" if shown else sample_name)
            lines[-1] += f" {_number(value)}"
    return "".join(f"{line}\n" for line in lines)


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def _escaped(label: str) -> str:
    return label.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _get(port: int, path: str) -> tuple[int, str]:
    """``GET path`` from a worker's endpoint: its status and body."""
    async with asyncio.timeout(PROBE_TIMEOUT):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
            await writer.drain()
            answer = await reader.read()
        finally:
            writer.close()
            await writer.wait_closed()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body.decode()
