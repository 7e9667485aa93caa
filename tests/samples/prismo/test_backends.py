"""Prismo off the in-memory backend: on RabbitMQ, on Azure stores (Azurite), and deployed.

Each run on a real peer gets entities of its own: a fresh RabbitMQ virtual host (deleted
after), and tables under a prefix of its own (a run of the sample deletes its tables itself).
Without a broker or Azurite the tests skip, saying why; under ``CI`` they fail instead.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest

from beehive import discover
from beehive.cli._common import CommandError, load_container
from beehive.inbox import Inbox
from beehive.names import QueueName
from samples.prismo.__main__ import main
from samples.prismo.azure_storage import AzureAccount
from samples.prismo.container import deployed
from samples.prismo.publish import publish_only
from samples.prismo.run import ACTORS, run
from samples.prismo.scenario import Scenario
from tests.azurite import Azurite
from tests.cli.http import get
from tests.queues.rabbitmq_support import RABBITMQ_URL, require_broker

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
DEADLINE = 30.0
HARSH = Scenario(
    orders=40,
    seed=11,
    payment_failure_rate=0.2,
    fraud_rate=0.2,
    supplier_delay=0.0,
    initial_stock=4,
)
"""Few orders, but every branch: declines, fraud, items waiting for the supplier."""


@pytest.fixture(autouse=True)
def _clean_environment() -> Iterator[None]:
    """No BEEHIVE_ or AZURE_ variable of the developer's shell leaks into a test, and none a
    test sets leaks out of it (a later test would find a deleted virtual host's URL)."""
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith(("BEEHIVE_", "AZURE_")):
            del os.environ[name]
    yield
    os.environ.clear()
    os.environ.update(saved)


def _rabbitmqctl(*args: str) -> bool:
    try:
        subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return True


async def _delete_prismo_entities(url: str) -> None:
    from beehive.queues.rabbitmq import RabbitMQQueueOperator

    descriptors = discover(ACTORS)
    async with RabbitMQQueueOperator(url) as operator:
        for source in sorted({d.source for d in descriptors}):
            await operator.delete_queue(source)
        for topic in sorted({d.queue.topic for d in descriptors}):
            await operator.delete_queue(QueueName.topic_of(topic))


async def _until_open(url: str) -> None:
    """Wait until the new virtual host takes connections: the node starts a virtual host's
    processes after ``add_vhost`` returns, and refuses connections to it until then."""
    import aio_pika

    async with asyncio.timeout(30):
        while True:
            try:
                connection = await aio_pika.connect(url)
            except aio_pika.exceptions.AMQPError:
                await asyncio.sleep(0.1)
                continue
            await connection.close()
            return


@pytest.fixture
async def rabbitmq_url() -> AsyncIterator[str]:
    """A RabbitMQ URL on a virtual host of this test's own, deleted after it.

    Where ``rabbitmqctl`` cannot make one (a remote broker), the default virtual host, with
    Prismo's queues and topics deleted afterwards.
    """
    require_broker()
    vhost = f"prismo-{uuid.uuid4().hex[:8]}"
    made = await asyncio.to_thread(_rabbitmqctl, "add_vhost", vhost)
    if made:
        user = urlsplit(RABBITMQ_URL).username or "guest"
        made = await asyncio.to_thread(
            _rabbitmqctl, "set_permissions", "-p", vhost, user, ".*", ".*", ".*"
        )
    parts = urlsplit(RABBITMQ_URL)
    url = urlunsplit(parts._replace(path="/" + quote(vhost, safe=""))) if made else RABBITMQ_URL
    try:
        if made:
            await _until_open(url)
        yield url
    finally:
        if made:
            await asyncio.to_thread(_rabbitmqctl, "delete_vhost", vhost)
        else:
            await _delete_prismo_entities(url)


def _storage(azurite: Azurite, prefix: str) -> dict[str, str]:
    return {
        "BEEHIVE_STORAGE_CONNECTION_STRING": azurite.connection_string,
        "BEEHIVE_STORAGE_TABLE_PREFIX": prefix,
    }


def _prefix() -> str:
    return f"p{uuid.uuid4().hex[:10]}"


async def _tables(azurite: Azurite, prefix: str) -> list[str]:
    from azure.data.tables.aio import TableServiceClient

    async with TableServiceClient.from_connection_string(azurite.connection_string) as tables:
        return [table.name async for table in tables.list_tables() if table.name.startswith(prefix)]


# -- whole runs -----------------------------------------------------------------------------


async def test_prismo_on_rabbitmq_with_memory_stores(rabbitmq_url: str) -> None:
    summary = await run(
        HARSH,
        broker="rabbitmq",
        stores="memory",
        environ={"BEEHIVE_RABBITMQ_URL": rabbitmq_url},
        timeout=DEADLINE,
    )

    assert summary.invariant_violations == []
    assert summary.pending == 0
    assert summary.shipped + sum(summary.cancelled.values()) == HARSH.orders
    assert all(summary.cancelled.values())
    assert summary.outcome.waited
    assert summary.backend == "rabbitmq backend"


async def test_a_rerun_on_rabbitmq_starts_from_empty_queues(rabbitmq_url: str) -> None:
    # Given leftovers of an earlier run that was stopped before it finished
    from beehive import Event
    from beehive.queues.rabbitmq import RabbitMQQueueOperator
    from samples.prismo.events import OrderAccepted

    async with RabbitMQQueueOperator(rabbitmq_url) as operator:
        await operator.setup_queue("OrderAccepted-Payment")
        await operator.push(Event(OrderAccepted(order_id="order-99999")))
    small = Scenario(orders=5, seed=3, supplier_delay=0.0)

    # When a run starts, then
    summary = await run(
        small, broker="rabbitmq", environ={"BEEHIVE_RABBITMQ_URL": rabbitmq_url}, timeout=DEADLINE
    )

    assert summary.invariant_violations == []
    assert summary.actors["PaymentActor@OrderAccepted-Payment"].received == small.orders


async def test_prismo_on_azure_stores_with_the_memory_broker(azurite: Azurite) -> None:
    prefix = _prefix()

    summary = await run(
        HARSH, broker="memory", stores="azure", environ=_storage(azurite, prefix), timeout=60
    )

    assert summary.invariant_violations == []
    assert summary.shipped + sum(summary.cancelled.values()) == HARSH.orders
    assert all(summary.cancelled.values())
    assert summary.outcome.waited
    assert summary.backend == "memory broker, azure stores"
    assert await _tables(azurite, prefix) == []  # the run deleted its own tables


# -- deployed: beehive run with the container factory, driven by --publish-only ---------------


def _host_environment(**settings: str) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("BEEHIVE_", "AZURE_"))}
    return inherited | settings


class Host:
    """``beehive run`` in a child process; its JSON log lines read as they come (a pipe left
    unread would fill and stall it)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.log: list[dict[str, object] | str] = []
        self.port: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._reading = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            try:
                entry = json.loads(raw)
            except ValueError:
                entry = raw.decode(errors="replace").rstrip()
            self.log.append(entry)
            if isinstance(entry, dict) and entry.get("port") and not self.port.done():
                self.port.set_result(int(entry["port"]))
        if not self.port.done():
            text = "\n".join(map(str, self.log))
            self.port.set_exception(AssertionError(f"beehive run ended early:\n{text}"))

    def messages(self) -> list[object]:
        return [entry.get("message") for entry in self.log if isinstance(entry, dict)]

    async def stop(self) -> int:
        """SIGTERM, then the exit code (SIGKILL if it does not stop in time)."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(DEADLINE):
                code = await self.process.wait()
                await self._reading
                return code
        except TimeoutError:
            self.process.kill()
            raise


async def test_beehive_run_hosts_prismo_for_publish_only(
    rabbitmq_url: str, azurite: Azurite
) -> None:
    environ = _storage(azurite, _prefix()) | {"BEEHIVE_RABBITMQ_URL": rabbitmq_url}
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "beehive", "run", ACTORS, "--backend", "rabbitmq"),
        *("--container", "samples.prismo.container:deployed", "--poll-wait", "0.5"),
        cwd=ROOT,
        stderr=asyncio.subprocess.PIPE,
        env=_host_environment(
            **environ, BEEHIVE_HOST="127.0.0.1", BEEHIVE_PORT="0", BEEHIVE_LOG_FORMAT="json"
        ),
    )
    host = Host(process)
    try:
        async with asyncio.timeout(DEADLINE):
            port = await host.port
            while (await get(port, "/readyz"))[0] != 200:  # noqa: ASYNC110 - only the endpoint says
                await asyncio.sleep(0.05)
        watched = await publish_only(
            Scenario(orders=12, seed=5, supplier_delay=0.0),
            broker="rabbitmq",
            environ=environ,
            timeout=DEADLINE,
            poll=0.1,
        )
    finally:
        code = await host.stop()

    assert watched.ok, watched.render()
    assert watched.shipped + sum(watched.cancelled.values()) == 12
    assert code == 0
    assert "stopped" in host.messages()


async def test_publish_only_needs_a_host_that_set_up_the_topology(
    rabbitmq_url: str, azurite: Azurite, capsys: pytest.CaptureFixture[str]
) -> None:
    os.environ.update(_storage(azurite, _prefix()) | {"BEEHIVE_RABBITMQ_URL": rabbitmq_url})
    argv = ["--publish-only", "--broker", "rabbitmq", "--stores", "azure", "--orders", "3"]

    code = await asyncio.to_thread(main, argv)

    assert code == 2
    assert "no OrderAccepted topic: start the actor host first" in capsys.readouterr().err


# -- configuration --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--backend", "azure"], "BEEHIVE_SERVICEBUS_CONNECTION_STRING or BEEHIVE_SERVICEBUS"),
        (["--stores", "azure"], "BEEHIVE_STORAGE_CONNECTION_STRING or BEEHIVE_STORAGE_TABLE"),
        (["--publish-only"], "--publish-only needs the stores the deployed host uses"),
        (["--publish-only", "--backend", "azure", "--broker", "memory"], "use --broker rabbitmq"),
    ],
)
def test_missing_configuration_is_one_line_and_exit_code_2(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    os.environ["BEEHIVE_STORAGE_CONNECTION_STRING"] = "" if "--stores" in argv else "x=y"

    assert main(argv) == 2

    err = capsys.readouterr().err
    assert err.startswith("prismo: ")
    assert err.count("\n") == 1
    assert says in err


def test_an_unreachable_broker_is_one_line_without_the_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    require_broker()  # aio-pika installed; the broker itself is not used
    os.environ["BEEHIVE_RABBITMQ_URL"] = "amqp://guest:s3cr3t@127.0.0.1:1/"

    assert main(["--backend", "rabbitmq", "--orders", "1"]) == 2

    err = capsys.readouterr().err
    assert err.startswith("prismo: cannot reach RabbitMQ at amqp://guest:****@127.0.0.1:1/")
    assert "s3cr3t" not in err


def test_a_bad_table_prefix_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    os.environ["BEEHIVE_STORAGE_CONNECTION_STRING"] = "UseDevelopmentStorage=true"
    os.environ["BEEHIVE_STORAGE_TABLE_PREFIX"] = "9-lives"

    assert main(["--stores", "azure"]) == 2
    assert "BEEHIVE_STORAGE_TABLE_PREFIX='9-lives': use a letter" in capsys.readouterr().err


def test_a_connection_string_is_never_shown() -> None:
    account = AzureAccount(connection_string="AccountKey=s3cr3t", table_prefix="prismo")
    assert "s3cr3t" not in repr(account)


def test_the_deployed_container_says_what_to_set_through_beehive_run() -> None:
    with pytest.raises(CommandError, match="BEEHIVE_STORAGE_CONNECTION_STRING or BEEHIVE_STOR"):
        load_container("samples.prismo.container:deployed")


def test_the_deployed_container_uses_managed_identity_and_has_an_inbox() -> None:
    os.environ["BEEHIVE_STORAGE_TABLE_ENDPOINT"] = "https://acct.table.core.windows.net"
    os.environ["AZURE_CLIENT_ID"] = "00000000-0000-0000-0000-000000000000"

    container = deployed()

    from beehive.stores.azure import AzureCollectionStore

    orders = container.orders()
    assert isinstance(orders, AzureCollectionStore)
    assert "acct.table.core.windows.net" in repr(orders)
    assert isinstance(container.inbox(), Inbox)
    asyncio.run(_shutdown(container))


async def _shutdown(container: object) -> None:
    await container.init_resources()  # type: ignore[attr-defined]
    await container.shutdown_resources()  # type: ignore[attr-defined]


async def test_prismo_on_premises_on_rabbitmq_and_postgresql(
    rabbitmq_url: str, postgres: str
) -> None:
    environ = {"BEEHIVE_RABBITMQ_URL": rabbitmq_url, "BEEHIVE_POSTGRES_DSN": postgres}
    schema = f"p{uuid.uuid4().hex[:10]}"

    summary = await run(
        HARSH,
        broker="rabbitmq",
        stores="postgres",
        environ=environ | {"BEEHIVE_POSTGRES_SCHEMA": schema},
        timeout=DEADLINE,
    )

    assert summary.invariant_violations == []
    assert summary.pending == 0
    assert summary.shipped + sum(summary.cancelled.values()) == HARSH.orders
    assert summary.backend == "onprem backend"
    async with await psycopg.AsyncConnection.connect(postgres) as db:
        cursor = await db.execute(
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE %s", (f"{schema}%",)
        )
        assert await cursor.fetchone() == (0,), "the run's schema was not dropped"


def test_onprem_needs_a_database(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--backend", "onprem", "--orders", "1"]) == 2
    assert "BEEHIVE_POSTGRES_DSN" in capsys.readouterr().err
