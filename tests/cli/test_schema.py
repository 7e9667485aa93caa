"""``beehive schema snapshot`` and ``beehive schema check --against``, on Prismo and a shop."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from beehive.cli import main

Shop = tuple[Callable[[str, str], str], str]
PRISMO_LOCK = Path(__file__).resolve().parents[2] / "samples" / "prismo" / "events.lock.json"

SHOP = """
from pydantic import BaseModel

from beehive import Event, ExternalEvents, Upcasters, actor, event_version

{models}

external = ExternalEvents(inputs=[OrderPlaced])


@actor("OrderPlaced-Billing")
class BillingActor:
    async def process(self, event: Event) -> list[Event]:
        return []
"""
V1 = """
class OrderPlaced(BaseModel):
    order_id: str
    total: float
"""
V2_BREAKING = """
class OrderPlaced(BaseModel):
    order_id: str
    total_cents: int
"""
V2_BRIDGED = """
@event_version(2)
class OrderPlaced(BaseModel):
    order_id: str
    total_cents: int


upcasters = Upcasters()


@upcasters.register(OrderPlaced, from_version=1)
def to_cents(body):
    return {"order_id": body["order_id"], "total_cents": round(body["total"] * 100)}
"""
V2_OPTIONAL = V1 + "    currency: str = 'EUR'\n"


def schema(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["schema", *args])
    return code, capsys.readouterr().out


def test_prismo_matches_its_committed_snapshot(capsys: pytest.CaptureFixture[str]) -> None:
    """CI fails on an accidental change to Prismo's events: re-snapshot only on purpose."""
    code, out = schema(capsys, "check", "samples.prismo.actors", "--against", str(PRISMO_LOCK))

    assert (code, out) == (0, "0 breaking, 0 compatible\n")


def test_the_snapshot_is_json_on_standard_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = schema(capsys, "snapshot", "samples.prismo.actors")

    assert code == 0
    assert json.loads(out) == json.loads(PRISMO_LOCK.read_text())


@pytest.fixture
def shop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[Callable[[str, str], str], str]:
    """Writes shop_<name>.py with the given models; returns the snapshot of version 1."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(name: str, models: str) -> str:
        (tmp_path / f"shop_{name}.py").write_text(SHOP.format(models=models))
        return f"shop_{name}"

    _, out = schema(capsys, "snapshot", write("v1", V1))
    lock = tmp_path / "events.lock.json"
    lock.write_text(out)
    return write, str(lock)


def test_a_breaking_change_fails_and_says_what_changed(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    write, lock = shop
    code, out = schema(capsys, "check", write("breaking", V2_BREAKING), "--against", lock)

    assert code == 1
    assert out.splitlines() == [
        "OrderPlaced: breaking: field total removed (or renamed): events in flight still carry it",
        "OrderPlaced: breaking: field total_cents added without a default: events in flight do "
        "not have it",
        "2 breaking, 0 compatible",
    ]


def test_an_optional_field_added_passes(shop: Shop, capsys: pytest.CaptureFixture[str]) -> None:
    write, lock = shop
    code, out = schema(capsys, "check", write("optional", V2_OPTIONAL), "--against", lock)

    assert (code, out.splitlines()) == (
        0,
        ["OrderPlaced: compatible: optional field currency added", "0 breaking, 1 compatible"],
    )


def test_a_new_version_with_its_upcaster_passes(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    write, lock = shop
    code, out = schema(capsys, "check", write("bridged", V2_BRIDGED), "--against", lock)

    assert code == 0
    assert out.splitlines() == [  # as docs/how-to/evolving-events.md shows it
        "OrderPlaced: compatible: version 1 -> 2, upcasters bridge it",
        "OrderPlaced: compatible: field total removed (or renamed): events in flight still carry "
        "it (upcast from version 1)",
        "OrderPlaced: compatible: field total_cents added without a default: events in flight do "
        "not have it (upcast from version 1)",
        "0 breaking, 3 compatible",
    ]


def test_a_missing_or_foreign_snapshot_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", "check", "samples.prismo.actors"]) == 2
    assert "--against events.lock.json" in capsys.readouterr().err
    other = tmp_path / "other.json"
    other.write_text('{"openapi": "3.1.0"}')
    assert main(["schema", "check", "samples.prismo.actors", "--against", str(other)]) == 2
    assert "not a beehive schema snapshot" in capsys.readouterr().err
