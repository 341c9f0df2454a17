"""Lighter ``__init__`` methods for libcst's node classes, for the moment of a parse.

libcst nodes are frozen dataclasses: their generated ``__init__`` sets each field through
``object.__setattr__``, which looks the field up on the class every time, and that costs about
a sixth of parsing a file. The parser passes every field and has already checked the tree, so
:func:`parsing_inits` swaps in ``__init__`` methods that set each field straight through its
slot and run no ``__post_init__`` (the node's own checks, which :func:`source.cst_parse` turns
off while it parses anyway), and puts the originals back afterwards. Nodes built anywhere
else (the fixer's rewrites among them) are built and checked as libcst builds them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["parsing_inits"]

_SWAPS: list[tuple[type, Callable[..., None], Callable[..., None]]] | None = None
_DEFAULT = object()  # stands for a field's default factory in a signature


@contextmanager
def parsing_inits() -> Iterator[None]:
    """While this lasts, libcst node classes have the lighter ``__init__`` (one thread only)."""
    swaps = _swaps()
    for cls, _, light in swaps:
        cls.__init__ = light  # type: ignore[misc]
    try:
        yield
    finally:
        for cls, original, _ in swaps:
            cls.__init__ = original  # type: ignore[misc]


def _swaps() -> list[tuple[type, Callable[..., None], Callable[..., None]]]:
    global _SWAPS
    if _SWAPS is None:
        from libcst import CSTNode

        swaps = []
        for cls in _subclasses(CSTNode):
            original = cls.__dict__.get("__init__")
            if original is not None and dataclasses.is_dataclass(cls):
                swaps.append((cls, original, _light_init(cls)))
        _SWAPS = swaps
    return _SWAPS


def _subclasses(root: type) -> list[type]:
    seen: dict[type, None] = {}
    todo = [root]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in seen:
                seen[sub] = None
                todo.append(sub)
    return list(seen)


def _light_init(cls: type) -> Callable[..., None]:
    """An ``__init__`` with the signature of the dataclass's own, minus its checks."""
    names: dict[str, Any] = {"_DEFAULT": _DEFAULT}
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    for f in dataclasses.fields(cls):
        names[f"_set_{f.name}"] = _setter(cls, f.name)
        if f.default_factory is not dataclasses.MISSING:
            names[f"_make_{f.name}"] = f.default_factory
        if not f.init:
            if f.default is not dataclasses.MISSING:
                names[f"_default_{f.name}"] = f.default
                body.append(f"_set_{f.name}(self, _default_{f.name})")
            elif f.default_factory is not dataclasses.MISSING:
                body.append(f"_set_{f.name}(self, _make_{f.name}())")
            continue
        if f.default is not dataclasses.MISSING:
            names[f"_default_{f.name}"] = f.default
            param = f"{f.name}=_default_{f.name}"
            value = f.name
        elif f.default_factory is not dataclasses.MISSING:
            param = f"{f.name}=_DEFAULT"
            value = f"_make_{f.name}() if {f.name} is _DEFAULT else {f.name}"
        else:
            param = value = f.name
        (keyword if f.kw_only else positional).append(param)
        body.append(f"_set_{f.name}(self, {value})")
    params = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    code = f"def __init__({params}):\n" + "".join(f"    {line}\n" for line in body or ["pass"])
    exec(code, names)  # noqa: S102 - built from the dataclass's own field names
    init = names["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def _setter(cls: type, name: str) -> Callable[[object, Any], None]:
    """The slot's own setter when the field has one (no look-up on the class, no frozen
    check); else what the frozen dataclass itself uses."""
    for klass in cls.__mro__:
        slot = klass.__dict__.get(name)
        if slot is not None and type(slot).__name__ == "member_descriptor":
            return slot.__set__  # type: ignore[no-any-return]
    return lambda obj, value: object.__setattr__(obj, name, value)
