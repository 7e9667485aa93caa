"""``beehive trace CORRELATION_ID``: one correlation's journey, from the event journal.

The journal is read from where a host writes it (``beehive run --journal``): Azure Table
storage (``BEEHIVE_STORAGE_CONNECTION_STRING``, or ``BEEHIVE_STORAGE_TABLE_ENDPOINT`` with
``DefaultAzureCredential``: a managed identity, or a developer's ``az login``), or PostgreSQL
(``BEEHIVE_POSTGRES_DSN``, in the schema ``BEEHIVE_POSTGRES_SCHEMA``, ``beehive`` by default).
An in-memory journal lives and dies inside its host's process: see it on that host's
dashboard.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TextIO

from beehive.cli._common import ENV_PREFIX, CommandError, add_option, setting
from beehive.journal import Journal, JournalEntry

CONNECTION_STRING = f"{ENV_PREFIX}STORAGE_CONNECTION_STRING"
TABLE_ENDPOINT = f"{ENV_PREFIX}STORAGE_TABLE_ENDPOINT"
POSTGRES_DSN = f"{ENV_PREFIX}POSTGRES_DSN"
POSTGRES_SCHEMA = f"{ENV_PREFIX}POSTGRES_SCHEMA"
WHERE_JOURNALS_ARE = f"{CONNECTION_STRING} or {TABLE_ENDPOINT} (Azure), or {POSTGRES_DSN}"
COLUMNS = ("time", "offset", "actor", "event type", "id", "outcome", "duration")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("correlation_id", metavar="CORRELATION_ID", help="e.g. an order id")
    parser.add_argument("--json", action="store_true", help="print the entries as JSON lines")
    add_option(
        parser,
        "--table-prefix",
        metavar="PREFIX",
        help="prefix of the journal's tables, as the host was given",
        env=f"{ENV_PREFIX}STORAGE_TABLE_PREFIX",
    )


def journal_from(environ: Mapping[str, str], table_prefix: str = "") -> Journal | None:
    """The journal in the Azure tables or the PostgreSQL database the environment names, or
    None when it names none."""
    connection = setting("storage_connection_string", environ)
    endpoint = setting("storage_table_endpoint", environ)
    dsn = setting("postgres_dsn", environ)
    if dsn and (connection or endpoint):
        raise CommandError(
            f"both Azure storage and {POSTGRES_DSN} are set: the journal is in one of them, "
            "unset the other"
        )
    if dsn:
        return _postgres_journal(dsn, setting("postgres_schema", environ))
    if not connection and not endpoint:
        return None
    try:
        from beehive.stores.azure import AzureKeyedListStore
    except ImportError:
        raise CommandError(
            "the journal on Azure needs: pip install 'beehive-actors[azure]'"
        ) from None
    if connection:
        try:
            store = AzureKeyedListStore.from_connection_string(
                connection, JournalEntry, table_prefix=table_prefix
            )
        except ValueError as error:
            raise CommandError(f"{CONNECTION_STRING}: {error}") from None
    else:
        store = AzureKeyedListStore(str(endpoint), JournalEntry, table_prefix=table_prefix)
    return Journal(store)


def _postgres_journal(dsn: str, schema: str) -> Journal:
    try:
        from beehive.stores.postgres import PostgresKeyedListStore
    except ImportError:
        raise CommandError(
            "the journal on PostgreSQL needs: pip install 'beehive-actors[postgres]'"
        ) from None
    try:
        return Journal(PostgresKeyedListStore(dsn, JournalEntry, schema=schema))
    except ValueError as error:
        raise CommandError(f"{POSTGRES_DSN} or {POSTGRES_SCHEMA}: {error}") from None


def main(args: argparse.Namespace) -> int:
    journal = journal_from(os.environ, args.table_prefix)
    if journal is None:
        raise CommandError(
            f"beehive trace reads the journal from Azure Table storage or PostgreSQL: set "
            f"{WHERE_JOURNALS_ARE}. An in-memory journal (beehive run --journal on the memory "
            "backend) lives only inside the host's process: search it on that host's dashboard"
        )
    entries = asyncio.run(_journey(journal, args.correlation_id))
    if not entries:
        print(f"beehive: no journal entries for {args.correlation_id!r}", file=sys.stderr)
        return 1
    render(entries, sys.stdout, as_json=args.json)
    return 0


async def _journey(journal: Journal, correlation_id: str) -> Sequence[JournalEntry]:
    try:
        return await journal.journey(correlation_id)
    finally:
        close = getattr(journal.store, "close", None)
        if close is not None:
            await close()


def render(entries: Sequence[JournalEntry], out: TextIO, *, as_json: bool = False) -> None:
    """The journey as an aligned table (or JSON lines), offsets from its first entry."""
    if as_json:
        for entry in entries:
            out.write(entry.model_dump_json() + "\n")
        return
    first = entries[0].timestamp
    rows = [
        (
            entry.timestamp.isoformat(timespec="milliseconds"),
            f"+{(entry.timestamp - first).total_seconds():.3f}s",
            entry.actor,
            entry.event_type,
            entry.event_id,
            entry.outcome
            if entry.delivery_count <= 1
            else f"{entry.outcome} (delivery {entry.delivery_count})",
            f"{entry.seconds * 1000:.1f}ms",
        )
        for entry in entries
    ]
    widths = [max(len(row[i]) for row in (COLUMNS, *rows)) for i in range(len(COLUMNS))]
    for row in (COLUMNS, *rows):
        out.write(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            + "\n"
        )
