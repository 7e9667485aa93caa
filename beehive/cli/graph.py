"""``beehive graph``: the event network drawn from the code (BeeHive's visualiser).

Actors are nodes; an edge goes from each actor that ``emits`` an event to each actor that
reads it, labelled with the event. Events nobody in the selection emits (they come from
outside) and events nobody reads are drawn as rounded event nodes, so no arrow is lost.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable
from dataclasses import dataclass

from beehive.actors import ActorDescriptor
from beehive.cli._common import CommandError, add_option, add_selection, load_descriptors
from beehive.cli.topology import write

FORMATS = ("mermaid", "dot")


@dataclass(frozen=True, slots=True)
class Graph:
    actors: tuple[str, ...]
    events: tuple[str, ...]
    """Events drawn as nodes: those that enter from outside or that no actor reads."""
    edges: tuple[tuple[str, str, str], ...]
    """(from, to, event label); a node is an actor class name or ``event:<name>``."""


def build(descriptors: Iterable[ActorDescriptor]) -> Graph:
    descriptors = [d for d in descriptors if d.enabled]
    actors = list(dict.fromkeys(d.actor_type.__name__ for d in descriptors))
    readers: dict[str, list[str]] = {}
    emitters: dict[str, list[str]] = {}
    for d in descriptors:
        readers.setdefault(d.queue.topic, []).append(d.actor_type.__name__)
        for topic in d.emits:
            emitters.setdefault(topic, []).append(d.actor_type.__name__)
    edges: dict[tuple[str, str, str], None] = {}
    events: dict[str, None] = {}
    for topic in sorted(readers.keys() | emitters.keys()):
        sources = list(dict.fromkeys(emitters.get(topic, [])))
        targets = list(dict.fromkeys(readers.get(topic, [])))
        if not sources:
            events[topic] = None
            sources = [f"event:{topic}"]
        if not targets:
            events[topic] = None
            targets = [f"event:{topic}"]
        for source in sources:
            for target in targets:
                edges[(source, target, topic)] = None
    return Graph(tuple(actors), tuple(events), tuple(edges))


def _id(node: str) -> str:
    return re.sub(r"\W", "_", node.replace("event:", "ev_"))


def mermaid(graph: Graph) -> str:
    lines = ["flowchart LR"]
    lines += [f"    {_id(a)}[{a}]" for a in graph.actors]
    lines += [f"    {_id('event:' + e)}([{e}])" for e in graph.events]
    for source, target, label in graph.edges:
        if source.startswith("event:") or target.startswith("event:"):
            lines.append(f"    {_id(source)} --> {_id(target)}")
        else:
            lines.append(f"    {_id(source)} -->|{label}| {_id(target)}")
    return "\n".join(lines) + "\n"


def dot(graph: Graph) -> str:
    lines = ["digraph beehive {", "    rankdir=LR;", "    node [shape=box];"]
    lines += [f'    "{a}";' for a in graph.actors]
    lines += [f'    "event:{e}" [label="{e}", shape=oval];' for e in graph.events]
    for source, target, label in graph.edges:
        if source.startswith("event:") or target.startswith("event:"):
            lines.append(f'    "{source}" -> "{target}";')
        else:
            lines.append(f'    "{source}" -> "{target}" [label="{label}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(graph: Graph, format: str) -> str:
    if format == "mermaid":
        return mermaid(graph)
    if format == "dot":
        return dot(graph)
    raise CommandError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")


def configure(parser: argparse.ArgumentParser) -> None:
    add_selection(parser)
    add_option(
        parser,
        "--format",
        env="BEEHIVE_GRAPH_FORMAT",
        help=f"one of {', '.join(FORMATS)}",
    )
    add_option(
        parser,
        "--output",
        env="BEEHIVE_GRAPH_OUTPUT",
        metavar="FILE",
        help="write to FILE, not stdout",
    )


def main(args: argparse.Namespace) -> int:
    write(render(build(load_descriptors(args)), args.format), args.output)
    return 0
