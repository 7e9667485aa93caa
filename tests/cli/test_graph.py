"""``beehive graph``: the event network, from decorators and ``emits``."""

from __future__ import annotations

import pytest

from beehive import Event, actor, discover
from beehive.cli import main
from beehive.cli.graph import build, dot, mermaid

APP = "tests.example_app.actors"


def test_edges_go_from_emitters_to_subscribers_labelled_with_the_event() -> None:
    graph = build(discover(APP))

    assert graph.actors == ("PaymentActor", "ShippingActor", "TracingActor")
    assert ("PaymentActor", "ShippingActor", "PaymentAuthorised") in graph.edges
    assert ("PaymentActor", "TracingActor", "PaymentAuthorised") in graph.edges
    assert ("ShippingActor", "TracingActor", "OrderShipped") in graph.edges
    # nobody here emits OrderAccepted: it enters from outside, drawn as an event node
    assert graph.events == ("OrderAccepted",)
    assert ("event:OrderAccepted", "PaymentActor", "OrderAccepted") in graph.edges


def test_an_event_nobody_reads_ends_in_an_event_node() -> None:
    @actor("Start-Work", emits=["Finished"])
    class Worker:
        async def process(self, event: Event) -> list[Event]:
            return []

    graph = build(discover(Worker))

    assert graph.events == ("Finished", "Start")
    assert ("Worker", "event:Finished", "Finished") in graph.edges


def test_an_actor_re_publishing_its_own_event_loops_onto_itself() -> None:
    @actor("Step-Next", emits=["Step"])
    class Stepper:
        async def process(self, event: Event) -> list[Event]:
            return []

    assert ("Stepper", "Stepper", "Step") in build(discover(Stepper)).edges


def test_mermaid() -> None:
    assert mermaid(build(discover(APP))) == (
        "flowchart LR\n"
        "    PaymentActor[PaymentActor]\n"
        "    ShippingActor[ShippingActor]\n"
        "    TracingActor[TracingActor]\n"
        "    ev_OrderAccepted([OrderAccepted])\n"
        "    ev_OrderAccepted --> PaymentActor\n"
        "    ev_OrderAccepted --> TracingActor\n"
        "    ShippingActor -->|OrderShipped| TracingActor\n"
        "    PaymentActor -->|PaymentAuthorised| ShippingActor\n"
        "    PaymentActor -->|PaymentAuthorised| TracingActor\n"
    )


def test_dot() -> None:
    text = dot(build(discover(APP)))

    assert text.startswith("digraph beehive {\n")
    assert '    "PaymentActor" -> "ShippingActor" [label="PaymentAuthorised"];\n' in text
    assert '    "event:OrderAccepted" [label="OrderAccepted", shape=oval];\n' in text
    assert text.endswith("}\n")


def test_the_command_draws_only_the_selected_actors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", APP, "--except", "TracingActor"]) == 0

    out = capsys.readouterr().out
    assert "TracingActor" not in out
    assert "PaymentActor -->|PaymentAuthorised| ShippingActor" in out
