"""The local RabbitMQ broker for tests: reachability, and operators that clean up after them.

Tests skip when no broker answers, except under ``CI``, where a missing broker is a failure.
Entities are uniquely named per test (the ``unique`` fixture) and deleted afterwards.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

from beehive.names import QueueName
from beehive.queues import QueueOperator, QueueSettings
from tests.required import unavailable

RABBITMQ_URL = os.environ.get("BEEHIVE_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")


def broker_problem() -> str | None:
    """Why the broker cannot be used, or None when it answers."""
    try:
        import aio_pika  # noqa: F401
    except ImportError:
        return "aio-pika is not installed (pip install 'beehive-actors[rabbitmq]')"
    parts = urlsplit(RABBITMQ_URL)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5672), 2):
            return None
    except OSError as error:
        return f"no RabbitMQ broker at {parts.hostname}:{parts.port or 5672} ({error})"


def require_broker() -> None:
    """Skip the test when there is no broker; fail it under CI."""
    problem = broker_problem()
    if problem is not None:
        unavailable(problem)


def rabbitmqctl(*args: str) -> None:
    """Run rabbitmqctl on the local node (tests that restart the broker need it)."""
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


@asynccontextmanager
async def rabbitmq_backend(**options: object) -> AsyncIterator[QueueOperator]:
    """A RabbitMQ operator that deletes every topic and queue it set up when done."""
    require_broker()
    from beehive.queues.rabbitmq import RabbitMQQueueOperator

    class CleaningOperator(RabbitMQQueueOperator):
        created: set[QueueName]

        async def setup_queue(
            self, name: str | QueueName, settings: QueueSettings | None = None
        ) -> None:
            name = QueueName(name)
            self.created.add(name)
            if name.is_subscription:
                self.created.add(QueueName.topic_of(name.topic))
            await super().setup_queue(name, settings)

    operator = CleaningOperator(RABBITMQ_URL, **options)  # type: ignore[arg-type]
    operator.created = set()
    try:
        yield operator
    finally:
        await operator.close()
        async with RabbitMQQueueOperator(RABBITMQ_URL) as cleaner:
            for name in sorted(operator.created, key=lambda n: not n.is_subscription):
                await cleaner.delete_queue(name)


def start_worker(module: str, *args: str) -> subprocess.Popen[str]:
    """``python -m module RABBITMQ_URL *args`` from the repository root, once it printed
    "ready" (the worker's host is consuming)."""
    root = Path(__file__).resolve().parents[2]
    worker = subprocess.Popen(
        [sys.executable, "-m", module, RABBITMQ_URL, *args],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert worker.stdout is not None
    if worker.stdout.readline().strip() != "ready":
        worker.kill()
        raise RuntimeError(f"the worker process {module} did not start")
    return worker
