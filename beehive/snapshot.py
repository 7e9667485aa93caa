"""Snapshots of the events' schemas, and what changed since one (``beehive schema``).

A snapshot records every event type's version and the JSON Schema of its model. Comparing
the code against a snapshot finds the changes that break the events already in flight
(in queues, dead-letter queues, journals, replays): a field removed or renamed, a type or a
constraint narrowed (in nested models, list and tuple items and dict values too), an enum
value or a union's model dropped, a field added or made required without a default.
Compatible changes (an optional field added, a type widened) are listed too. A model whose
version went up, with upcasters from the snapshot's version, bridges its old events: its
changes are then compatible, since the host upgrades every older event before reading it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from beehive.contract import Contract
from beehive.versions import Upcasters, version_of

FORMAT: Final = 1
_NUMERIC: Final = {"integer": {"integer"}, "number": {"integer", "number"}}
_LOWER: Final = ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties")
_UPPER: Final = ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties")


def snapshot(contract: Contract) -> dict[str, Any]:
    """Every event type of ``contract`` with its version and schema (None: no model known)."""
    events: dict[str, Any] = {}
    for event in contract.events:
        if event.model is None:
            events[event.name] = {"version": 1, "schema": None}
        else:
            events[event.name] = {
                "version": version_of(event.model),
                "schema": event.model.model_json_schema(),
            }
    return {"format": FORMAT, "events": events}


@dataclass(frozen=True, slots=True)
class Change:
    event: str
    breaking: bool
    what: str

    def __str__(self) -> str:
        return f"{self.event}: {'breaking' if self.breaking else 'compatible'}: {self.what}"


def compare(
    before: Mapping[str, Any], now: Mapping[str, Any], upcasters: Upcasters | None = None
) -> list[Change]:
    """The changes from snapshot ``before`` to snapshot ``now``, per event, in name order."""
    if before.get("format") != FORMAT or not isinstance(before.get("events"), dict):
        raise ValueError(f"not a beehive schema snapshot (format {FORMAT}): no 'events' found")
    old_events: dict[str, Any] = before["events"]
    new_events: dict[str, Any] = now["events"]
    changes: list[Change] = []
    for name in sorted(old_events.keys() | new_events.keys()):
        old, new = old_events.get(name), new_events.get(name)
        if new is None:
            changes.append(Change(name, True, "event type removed: nothing reads its events"))
        elif old is None:
            changes.append(Change(name, False, "event type added"))
        else:
            changes.extend(_event_changes(name, old, new, upcasters))
    return changes


def _event_changes(
    name: str, old: Mapping[str, Any], new: Mapping[str, Any], upcasters: Upcasters | None
) -> list[Change]:
    was, now = int(old["version"]), int(new["version"])
    schema_changes = [
        Change(name, breaking, what)
        for breaking, what in _diff(old["schema"] or {}, new["schema"] or {}, "", old, new)
    ]
    if was == now:
        return schema_changes
    if now < was:
        return [Change(name, True, f"version went down from {was} to {now}"), *schema_changes]
    model = upcasters.models.get(name) if upcasters else None
    steps = set(upcasters.steps(model)) if upcasters and model else set()
    missing = [v for v in range(was, now) if v not in steps]
    if missing:
        return [
            Change(
                name,
                True,
                f"version {was} -> {now} with no upcaster from version "
                f"{', '.join(map(str, missing))}: events in flight cannot be read",
            ),
            *schema_changes,
        ]
    bridged = [
        Change(c.event, False, f"{c.what} (upcast from version {was})") for c in schema_changes
    ]
    return [Change(name, False, f"version {was} -> {now}, upcasters bridge it"), *bridged]


def _resolve(node: Any, root: Mapping[str, Any]) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target = node["$ref"].rsplit("/", 1)[-1]
        node = root["schema"].get("$defs", {}).get(target, {})
    return node


def _types(node: Mapping[str, Any], root: Mapping[str, Any]) -> set[str]:
    """The JSON types a node accepts (``integer`` within ``number``)."""
    if "anyOf" in node or "oneOf" in node:
        members = node.get("anyOf", node.get("oneOf"))
        return set().union(*(_types(_resolve(m, root), root) for m in members))
    kinds = node.get("type")
    if kinds is None:
        if "properties" in node:
            return {"object"}
        if "const" in node or "enum" in node:
            values = node.get("enum", [node.get("const")])
            return {type(v).__name__ for v in values}
        return {"any"}
    kinds = set(kinds) if isinstance(kinds, list) else {kinds}
    return set().union(*(_NUMERIC.get(k, {k}) for k in kinds))


def _non_null(node: Mapping[str, Any], root: Mapping[str, Any]) -> Any:
    """The one non-null member of ``X | None`` (else the node itself)."""
    members = node.get("anyOf")
    if members:
        rest = [m for m in members if _resolve(m, root).get("type") != "null"]
        if len(rest) == 1:
            return _resolve(rest[0], root)
    return node


Seen = frozenset[tuple[str, str]]
"""The pairs of models (old, new) being compared further up: a recursive model stops there."""


def _diff(
    old: Any,
    new: Any,
    path: str,
    old_root: Mapping[str, Any],
    new_root: Mapping[str, Any],
    seen: Seen = frozenset(),
) -> Iterator[tuple[bool, str]]:
    old, new = _resolve(old, old_root), _resolve(new, new_root)
    where = f"field {path}" if path else "the body"
    old_types, new_types = _types(old, old_root), _types(new, new_root)
    if "any" not in new_types and not old_types <= new_types:
        lost = ", ".join(sorted(old_types - new_types))
        yield True, f"{where} no longer accepts {lost} ({_show(old_types)} -> {_show(new_types)})"
    elif new_types - old_types and "any" not in old_types:
        yield False, f"{where} also accepts {', '.join(sorted(new_types - old_types))}"
    yield from _constraints(old, new, where)
    yield from _models(old, new, path, old_root, new_root, seen)
    old, new = _non_null(old, old_root), _non_null(new, new_root)
    if isinstance(old.get("items"), dict) and isinstance(new.get("items"), dict):
        yield from _diff(old["items"], new["items"], f"{path}[]", old_root, new_root, seen)
    for i, (was, now) in enumerate(
        zip(old.get("prefixItems", ()), new.get("prefixItems", ()), strict=False)
    ):
        yield from _diff(was, now, f"{path}[{i}]", old_root, new_root, seen)
    old_values, new_values = old.get("additionalProperties"), new.get("additionalProperties")
    if isinstance(old_values, dict) and isinstance(new_values, dict):
        yield from _diff(old_values, new_values, f"{path}{{}}", old_root, new_root, seen)


def _objects(node: Mapping[str, Any], root: Mapping[str, Any]) -> dict[str, Any]:
    """The object schemas (models) a node accepts, by title: itself, or its union's members."""
    members = node.get("anyOf", node.get("oneOf", [node]))
    resolved = (_resolve(m, root) for m in members)
    return {m.get("title", ""): m for m in resolved if "properties" in m}


def _models(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    path: str,
    old_root: Mapping[str, Any],
    new_root: Mapping[str, Any],
    seen: Seen,
) -> Iterator[tuple[bool, str]]:
    """The changes to the models a field accepts: one model each side (``X``, ``X | None``)
    is compared field by field whatever its name; in a union, a member is compared with the
    one of its name, and dropped when no member of the new union takes its events as they are
    (a model renamed with the same fields still takes them)."""
    was, now = _objects(old, old_root), _objects(new, new_root)

    def fields(a: str, b: str) -> Iterator[tuple[bool, str]]:
        if (a, b) not in seen:  # else compared further up: a recursive model
            yield from _fields(was[a], now[b], path, old_root, new_root, seen | {(a, b)})

    if len(was) == 1 and len(now) == 1:
        yield from fields(*was, *now)
        return
    where = f"field {path}" if path else "the body"
    taken: set[str] = set()
    for title in was:
        if title in now:
            yield from fields(title, title)
            continue
        alike = next(
            (other for other in now if not any(broken for broken, _ in fields(title, other))),
            None,
        )
        if alike is None:
            yield True, f"{where} no longer accepts {title}"
        else:
            taken.add(alike)
            yield False, f"{where} takes {title} as {alike}"
    if was:
        for title in sorted(now.keys() - was.keys() - taken):
            yield False, f"{where} also accepts {title}"


def _show(types: set[str]) -> str:
    return " | ".join(sorted(types))


def _constraints(
    old: Mapping[str, Any], new: Mapping[str, Any], where: str
) -> Iterator[tuple[bool, str]]:
    if "enum" in new or "const" in new:
        old_values = old.get("enum", [old["const"]] if "const" in old else None)
        new_values = new.get("enum", [new.get("const")])
        if old_values is None:
            yield True, f"{where} is now limited to {new_values}"
        elif dropped := [v for v in old_values if v not in new_values]:
            yield True, f"{where} no longer accepts {dropped}"
        elif added := [v for v in new_values if v not in old_values]:
            yield False, f"{where} also accepts {added}"
    for key in (*_LOWER, *_UPPER):
        if key not in new or old.get(key) == new[key]:
            continue
        tighter = key not in old or (new[key] > old[key] if key in _LOWER else new[key] < old[key])
        if tighter:
            yield True, f"{where} has a tighter {key}: {old.get(key, 'none')} -> {new[key]}"
    if new.get("pattern") not in (None, old.get("pattern")):
        yield True, f"{where} must match a new pattern {new['pattern']!r}"


def _fields(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    path: str,
    old_root: Mapping[str, Any],
    new_root: Mapping[str, Any],
    seen: Seen,
) -> Iterator[tuple[bool, str]]:
    old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
    for field in old["properties"]:
        name = f"{path}.{field}" if path else field
        if field not in new["properties"]:
            yield True, f"field {name} removed (or renamed): events in flight still carry it"
        else:
            if field in new_required and field not in old_required:
                yield True, f"field {name} is now required: events in flight may not have it"
            elif field in old_required and field not in new_required:
                yield False, f"field {name} is now optional"
            yield from _diff(
                old["properties"][field], new["properties"][field], name, old_root, new_root, seen
            )
    for field in new["properties"]:
        name = f"{path}.{field}" if path else field
        if field in old["properties"]:
            continue
        if field in new_required:
            yield True, f"field {name} added without a default: events in flight do not have it"
        else:
            yield False, f"optional field {name} added"
