"""Reading one answer of the probe: each key with its type checked, one clear line when it is not there."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from preflight.errors import ProjectError

PROTOCOL_VERSION = 2  # bump with the child's _preflight_probe.PROTOCOL on an incompatible change
PROTOCOL = f"preflight-probe/{PROTOCOL_VERSION}"  # what every message of the session carries

T = TypeVar("T")

_NUMBER = (int, float)


class Reader:
    """One JSON object of an answer: each key read with its type checked, its path named on error."""

    def __init__(self, verb: str, data: object, where: str) -> None:
        if not isinstance(data, dict):
            raise malformed(verb, f"{where or 'the answer'} is {_kind(data)}, not an object")
        self.verb, self.data, self.where = verb, data, where

    def path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def req(self, key: str, *kinds: type) -> Any:
        """The value under `key`, which must be there (None only when NoneType is among `kinds`)."""
        if key not in self.data:
            raise malformed(self.verb, f"it lacks {self.path(key)}")
        return self._checked(key, self.data[key], kinds)

    def opt(self, key: str, *kinds: type, default: Any = None) -> Any:
        """The value under `key`, or `default` when it is missing or null."""
        value = self.data.get(key)
        return default if value is None else self._checked(key, value, kinds)

    def _checked(self, key: str, value: Any, kinds: tuple[type, ...]) -> Any:
        # Exact types, as json.loads makes them: true is no integer here, an integer is a number.
        kind = type(value)
        if kind in kinds:
            return value
        if kind is int and float in kinds:
            return float(value)
        wanted = " or ".join("null" if kind is type(None) else _NAMES.get(kind, kind.__name__) for kind in kinds)
        raise malformed(self.verb, f"{self.path(key)} is {_kind(value)}, not {wanted}")

    def child(self, key: str) -> Reader:
        return Reader(self.verb, self.req(key, dict), self.path(key))

    def objects(self, key: str, read: Callable[[Reader], T], *, required: bool = True) -> tuple[T, ...]:
        """Each object of the list under `key`, read by `read` (a missing or null optional list: none)."""
        values = self.req(key, list) if required else self.opt(key, list, default=[])
        return tuple(read(Reader(self.verb, value, f"{self.path(key)}[{i}]")) for i, value in enumerate(values))

    def strings(self, key: str, *, required: bool = True) -> tuple[str, ...]:
        values = self.req(key, list) if required else self.opt(key, list, default=[])
        return tuple(self._item(key, i, value, str) for i, value in enumerate(values))

    def keys(self, key: str, *, required: bool = True) -> tuple[tuple[str, str], ...]:
        """A list of [app, name] pairs."""
        values = self.req(key, list) if required else self.opt(key, list, default=[])
        pairs = []
        for i, value in enumerate(values):
            if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
                raise malformed(self.verb, f"{self.path(key)}[{i}] is {_kind(value)}, not an [app, name] pair")
            pairs.append((value[0], value[1]))
        return tuple(pairs)

    def mapping(self, key: str, read: Callable[[Reader, str], T], *, required: bool = True) -> dict[str, T]:
        """Each value of the object under `key`, read by `read(reader of that object, its key)`."""
        values = self.req(key, dict) if required else self.opt(key, dict, default={})
        inner = Reader(self.verb, values, self.path(key))
        return {name: read(inner, name) for name in values}

    def string_lists(self, key: str) -> tuple[tuple[str, ...], ...]:
        """A list of lists of strings."""
        values = self.req(key, list)
        inner = Reader(self.verb, {str(i): value for i, value in enumerate(values)}, self.path(key))
        return tuple(inner.strings(str(i)) for i in range(len(values)))

    def _item(self, key: str, index: int, value: Any, kind: type) -> Any:
        if not isinstance(value, kind):
            raise malformed(self.verb, f"{self.path(key)}[{index}] is {_kind(value)}, not {_NAMES.get(kind)}")
        return value


_NAMES: dict[type, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "an object",
}


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    return _NAMES.get(type(value), type(value).__name__)


def malformed(verb: str, what: str) -> ProjectError:
    """The one-line error for an answer the host cannot read."""
    return ProjectError(
        f"the probe's {verb} answer is malformed: {what}",
        "this looks like a bug in Preflight's probe: please report it",
    )


def answer(verb: str, data: object) -> Reader:
    """Check the answer's protocol version (when it names one) and return its reader."""
    reader = Reader(verb, data, "")
    version = reader.data.get("protocol", PROTOCOL_VERSION)
    if version != PROTOCOL_VERSION:
        raise ProjectError(
            f"the probe's {verb} answer speaks protocol {json.dumps(version, default=str)[:20]}, "
            f"this Preflight reads {PROTOCOL_VERSION}",
            "run the probe that ships with this Preflight (reinstall Preflight)",
        )
    return reader


def strings_of(reader: Reader, key: str) -> tuple[str, ...]:
    return reader.strings(key)


def string_of(reader: Reader, key: str) -> str:
    value: str = reader.req(key, str)
    return value
