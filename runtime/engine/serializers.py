"""How a saved context writes values: JSON that knows pydantic models, or pickle as a fallback.

The names and the payloads are llama-index-workflows' (``workflows.context.serializers``):
a pydantic model (an event, a typed state) is written as
``{"__is_pydantic": true, "value": <model_dump(mode="json")>, "qualified_name": "module.Class"}``
and read back with the class's own ``model_validate``; dicts and lists are walked; anything
else must be something ``json.dumps`` takes, or serializing raises ValueError. Reading a
payload looks its classes up in modules already imported; it never imports one.
"""

from __future__ import annotations

import base64
import binascii
import json
import pickle
import sys
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel


def qualified_name(value: Any) -> str:
    """``module.Class`` of a value, as the saved payload names it."""
    kind = type(value)
    return f"{kind.__module__}.{kind.__name__}"


def find_qualified_name(name: str) -> Any:
    """The object ``module.attr[.attr...]`` names, in a module already imported.

    A payload never makes this engine import a module: the classes it names come from code
    the program has loaded (the workflow's module, which restoring it needs anyway).
    """
    module_name, _, attr = name.rpartition(".")
    while module_name:
        module = sys.modules.get(module_name)
        if module is not None:
            target: Any = module
            try:
                for part in attr.split("."):
                    target = getattr(target, part)
            except AttributeError:
                break
            return target
        module_name, _, head = module_name.rpartition(".")
        attr = f"{head}.{attr}"
    raise ValueError(
        f"cannot find {name!r}: no imported module defines it (import the module that defines "
        "it before restoring, or name the class in JsonSerializer(allowed_types=[...]))"
    )


class BaseSerializer(ABC):
    """Turns one value into a string and back (see JsonSerializer, PickleSerializer)."""

    @abstractmethod
    def serialize(self, value: Any) -> str: ...

    @abstractmethod
    def deserialize(self, value: str) -> Any: ...


class JsonSerializer(BaseSerializer):
    """JSON that round-trips pydantic models by their qualified class name.

    ``allowed_types``: the classes (or ``module.Class`` names) a payload may name; None lets
    through any class of a module the program has imported. A class given here is found
    by identity, wherever it is defined.
    """

    def __init__(self, *, allowed_types: Iterable[type[Any] | str] | None = None) -> None:
        self._registered: dict[str, type[Any]] = {}
        self._allowed: frozenset[str] | None = None
        if allowed_types is not None:
            names: set[str] = set()
            for entry in allowed_types:
                if isinstance(entry, str):
                    names.add(entry)
                elif isinstance(entry, type):
                    for name in (f"{entry.__module__}.{entry.__qualname__}", f"{entry.__module__}.{entry.__name__}"):
                        names.add(name)
                        self._registered[name] = entry
                else:
                    raise TypeError("allowed_types entries must be classes or 'module.Class' names")
            self._allowed = frozenset(names)

    def resolve_class(self, name: str) -> type[Any]:
        """The class a payload's ``qualified_name`` names (ValueError when not allowed or absent)."""
        registered = self._registered.get(name)
        if registered is not None:
            return registered
        if self._allowed is not None and name not in self._allowed:
            raise ValueError(
                f"class {name} is not in the serializer's allowed types: pass "
                f"JsonSerializer(allowed_types=[...]) naming it, or JsonSerializer() to import by name"
            )
        found = find_qualified_name(name)
        if not isinstance(found, type):
            raise ValueError(f"{name} names a {type(found).__name__}, not a class")
        return found

    def serialize_value(self, value: Any) -> Any:
        """The JSON-ready form of ``value`` (models wrapped with their class name)."""
        if isinstance(value, BaseModel):
            return {"__is_pydantic": True, "value": value.model_dump(mode="json"), "qualified_name": qualified_name(value)}
        if isinstance(value, dict):
            return {k: self.serialize_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.serialize_value(item) for item in value]
        return value

    def serialize(self, value: Any) -> str:
        try:
            return json.dumps(self.serialize_value(value))
        except Exception as exc:  # noqa: BLE001 - any failure to encode is the same answer for the caller
            raise ValueError(f"Failed to serialize value: {type(value)}: {value!s}") from exc

    def deserialize_value(self, data: Any) -> Any:
        """The inverse of ``serialize_value``."""
        if isinstance(data, dict):
            if data.get("__is_pydantic") and data.get("qualified_name"):
                model = self.resolve_class(data["qualified_name"])
                if not (isinstance(model, type) and issubclass(model, BaseModel)):
                    raise ValueError(f"{data['qualified_name']} is not a pydantic model")
                return model.model_validate(data["value"])
            return {k: self.deserialize_value(v) for k, v in data.items()}
        if isinstance(data, list):
            return [self.deserialize_value(item) for item in data]
        return data

    def deserialize(self, value: str) -> Any:
        return self.deserialize_value(json.loads(value))


class PickleSerializer(JsonSerializer):
    """JSON when the value allows it, else base64-encoded pickle.

    Reading a pickle runs code the payload chooses: only load payloads you wrote.
    """

    def serialize(self, value: Any) -> str:
        try:
            return super().serialize(value)
        except ValueError:
            pass
        try:
            return base64.b64encode(pickle.dumps(value)).decode("ascii")
        except Exception as exc:  # noqa: BLE001 - pickling fails with TypeError, PicklingError, ...
            raise ValueError(f"Failed to serialize value: {type(value)}: neither JSON nor pickle can write it ({exc})") from exc

    def deserialize(self, value: str) -> Any:
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return super().deserialize(value)
        try:
            return pickle.loads(raw)  # noqa: S301 - documented: trusted payloads only
        except Exception:  # noqa: BLE001 - not a pickle after all: a JSON text that is valid base64
            return super().deserialize(value)


JsonPickleSerializer = PickleSerializer
