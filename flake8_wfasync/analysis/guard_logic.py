"""Guards as plain data (see :mod:`flake8_wfasync.analysis.guards` for where they come from):
whether a value fails an atom, whether a guard contradicts itself, and a guard seen through
the arguments a summary recorded for a call to another module's function. No libcst here: the
project index composes the summaries' guards with this alone.

A guard contradicts itself when two of its atoms on one parameter cannot both hold. Guards
compose down a helper chain: a helper that calls another only under ``isinstance(m,
InputFile)``, when the other blocks only under ``isinstance(m, str)``, gets a guard holding
both, and that way to block is closed whatever the arguments. Only what is known for sure
closes a way:

- two concrete built-in types no class can derive from both (``str`` and ``bytes``, ``int``
  and ``list``; ``bool`` is an ``int``);
- a class of the project whose every ancestor is known (project classes, built-in bases,
  ``typing.Generic``; no metaclass), and a concrete built-in or standard-library type that is
  not among them (``str``, ``bytes``, ``pathlib.Path``). An ABC that decides by the methods a
  class has (``os.PathLike``), and two project classes (a third may derive from both), stay
  open. (A class deriving from both a project class and ``str`` is taken not to exist.);
- ``isinstance(x, T)`` with ``not isinstance(x, (T, ...))``, ``x is None`` with ``x is not None``
  or with ``x == <a literal that is not None>``, truthy with falsy, two different literals.

The ancestors of a project class come from the project index (``ancestors``: qualified name ->
the names of the class and all its ancestors, or None when not all are known).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

__all__ = ["ARGS", "SELF", "Ancestors", "Atom", "Described", "Facts", "Guard", "atom_fails", "contradicts",
           "guard_fails", "join_described", "open_paths", "translate_described"]

Atom = list[Any]
Guard = list[Atom]
Facts = dict[str, str]
# The prefix of an atom on an attribute the constructor set from one of its parameters.
SELF = "self:"
ARGS = "args"  # the kind of an atom that carries a call's arguments (in summaries only)
# The arguments of a call: {"pos": [...], "kw": {...}, "bound": bool}, each argument
# {"p": a parameter of the calling function} or the facts of its value.
Described = dict[str, Any]


Ancestors = Callable[[str], "frozenset[str] | None"]

# Concrete built-in types with their bases. Two of them, neither a base of the other, have no
# common subclass (their instance layouts conflict, or they cannot be subclassed at all).
_SOLID: dict[str, frozenset[str]] = {
    "str": frozenset({"str"}), "bytes": frozenset({"bytes"}), "bytearray": frozenset({"bytearray"}),
    "int": frozenset({"int"}), "bool": frozenset({"bool", "int"}), "float": frozenset({"float"}),
    "complex": frozenset({"complex"}), "list": frozenset({"list"}), "dict": frozenset({"dict"}),
    "tuple": frozenset({"tuple"}), "set": frozenset({"set"}), "frozenset": frozenset({"frozenset"}),
    "NoneType": frozenset({"NoneType"}), "memoryview": frozenset({"memoryview"}),
}
# Concrete types of the standard library a project class is an instance of only by deriving
# from them (no ABC that looks at the methods a class has).
_CONCRETE = frozenset(_SOLID) | {
    "pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath", "pathlib.WindowsPath",
    "pathlib.PurePosixPath", "pathlib.PureWindowsPath", "io.BytesIO", "io.StringIO",
    "io.TextIOWrapper", "io.BufferedReader", "io.BufferedWriter", "io.FileIO",
}
_NOT_NONE_TYPES = frozenset(_SOLID) - {"NoneType"}


def _disjoint(a: str, b: str, ancestors: Ancestors | None) -> bool:
    """No value is an instance of both ``a`` and ``b``."""
    if a == b:
        return False
    if a in _SOLID and b in _SOLID:
        return a not in _SOLID[b] and b not in _SOLID[a]
    for mine, other in ((a, b), (b, a)):
        if other in _CONCRETE and mine not in _CONCRETE and ancestors is not None:
            known = ancestors(mine)
            if known is not None:
                return not any(_same_or_base(other, k) for k in known)
    return False


def _same_or_base(builtin: str, ancestor: str) -> bool:
    """Whether ``ancestor`` (an ancestor of a project class, as the index names it) is the
    built-in or standard-library type ``builtin``."""
    return ancestor.removeprefix("builtins.") == builtin or (
        builtin.startswith("pathlib.") and ancestor.startswith("pathlib."))


def _subclass(a: str, b: str, ancestors: Ancestors | None) -> bool:
    """Every instance of ``a`` is an instance of ``b``."""
    if a == b or b in ("object", "builtins.object"):
        return True
    if a in _SOLID:
        return b in _SOLID[a]
    if ancestors is not None and a not in _CONCRETE:
        known = ancestors(a)
        return known is not None and b in known
    return False


def _literal(text: str) -> tuple[bool, Any]:
    try:
        return True, ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return False, None


def _pair(x: list[Any], y: list[Any], ancestors: Ancestors | None) -> bool:
    kx, ax = x[1], x[2]
    ky, ay = y[1], y[2]
    kinds = {kx, ky}
    if kinds == {"none", "notnone"} or kinds == {"truthy", "falsy"} or kinds == {"none", "truthy"}:
        return True
    if kx == "isinstance" and ky == "isinstance":
        return all(_disjoint(t, u, ancestors) for t in ax for u in ay)
    if kinds == {"isinstance", "notisinstance"}:
        yes, no = (ax, ay) if kx == "isinstance" else (ay, ax)
        return all(any(_subclass(t, u, ancestors) for u in no) for t in yes)
    if kinds == {"isinstance", "none"}:
        types = ax if kx == "isinstance" else ay
        return all(t in _NOT_NONE_TYPES for t in types)
    if "eq" in kinds:
        eq, other = (x, y) if kx == "eq" else (y, x)
        ok, value = _literal(eq[2])
        if not ok:
            return False
        if other[1] == "eq":
            ok2, value2 = _literal(other[2])
            return ok2 and value2 != value
        if other[1] == "ne":
            ok2, value2 = _literal(other[2])
            return ok2 and value2 == value
        if other[1] == "none":
            return value is not None
        if other[1] == "notnone":
            return value is None
        if other[1] == "truthy":
            return not value
        if other[1] == "falsy":
            return bool(value)
    return False


def contradicts(guard: Iterable[list[Any]], ancestors: Ancestors | None = None) -> bool:
    """Whether two atoms of ``guard`` on the same parameter cannot both hold."""
    by_param: dict[str, list[list[Any]]] = {}
    for atom in guard:
        if atom[1] in ("memo", "args") or not atom[0]:
            continue
        by_param.setdefault(atom[0], []).append(atom)
    for atoms in by_param.values():
        for i, x in enumerate(atoms):
            for y in atoms[i + 1:]:
                if _pair(x, y, ancestors):
                    return True
    return False


def open_paths(paths: list[tuple[Any, Any]], ancestors: Ancestors | None = None) -> list[tuple[Any, Any]]:
    """The ``(guard, chain)`` ways to block whose guard does not contradict itself."""
    return [p for p in paths if not p[0] or not contradicts(p[0], ancestors)]


# --- a value against an atom -----------------------------------------------------------------

# What isinstance() is decided against: the types of the values we know, with their bases.
_BASES: dict[str, frozenset[str]] = {
    "str": frozenset({"str", "object"}),
    "bytes": frozenset({"bytes", "object"}),
    "int": frozenset({"int", "object"}),
    "bool": frozenset({"bool", "int", "object"}),
    "float": frozenset({"float", "object"}),
    "NoneType": frozenset({"NoneType", "object"}),
    "list": frozenset({"list", "object"}),
    "dict": frozenset({"dict", "object"}),
    "tuple": frozenset({"tuple", "object"}),
    "set": frozenset({"set", "object"}),
    "io.BytesIO": frozenset({"io.BytesIO", "io.BufferedIOBase", "io.IOBase", "object"}),
    "io.StringIO": frozenset({"io.StringIO", "io.TextIOBase", "io.IOBase", "object"}),
    "pathlib.Path": frozenset({"pathlib.Path", "pathlib.PurePath", "os.PathLike", "object"}),
    "pathlib.PurePath": frozenset({"pathlib.PurePath", "os.PathLike", "object"}),
}
# Types an isinstance() test may name and still be decided: every base above, and the ABCs
# none of the known values is registered with.
_DECIDABLE = frozenset().union(*_BASES.values()) | {"bytearray", "memoryview", "os.PathLike",
                                                   "io.RawIOBase", "io.BufferedReader"}


def _value(facts: Facts) -> tuple[bool, Any]:
    text = facts.get("v")
    if text is None:
        return False, None
    try:
        return True, ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return False, None


def atom_fails(atom: Atom, facts: Facts) -> bool:
    """The value cannot satisfy the atom."""
    _, kind, arg = atom
    if kind == "memo":
        return True
    if kind == ARGS:
        return False
    known, value = _value(facts)
    typ = facts.get("t")
    if kind == "none":
        return (known and value is not None) or (typ is not None and typ != "NoneType")
    if kind == "notnone":
        return known and value is None
    if kind == "truthy":
        return known and not value
    if kind == "falsy":
        return known and bool(value)
    if kind == "eq":
        return known and value != ast.literal_eval(arg)
    if kind == "ne":
        return known and value == ast.literal_eval(arg)
    bases = _BASES.get(typ or "")
    if bases is None:
        return False
    if kind == "isinstance":
        return all(t in _DECIDABLE for t in arg) and not bases.intersection(arg)
    if kind == "notisinstance":
        return bool(bases.intersection(arg))
    return False


def guard_fails(guard: Guard, facts: Mapping[str, Facts],
                built: Sequence[Mapping[str, Facts]] = ()) -> bool:
    """The arguments ``facts`` (and, for atoms on ``self:`` attributes, every way the
    instance was built, ``built``) cannot meet the guard."""
    for a in guard:
        if a[0].startswith(SELF):
            param = a[0][len(SELF):]
            if built and all(atom_fails([param, a[1], a[2]], b.get(param, {})) for b in built):
                return True
        elif atom_fails(a, facts.get(a[0], {})):
            return True
    return False




def translate_described(guard: Guard, desc: Described | None, sig: Mapping[str, Any],
                        init: bool) -> Guard | None:
    """What :func:`translate` does for a call seen in a summary (``desc``, see
    :func:`describe_args`): the callee's guard ``guard`` seen from the calling function, None
    when the arguments fail it. Without a description, or when the arguments cannot be lined
    up with ``sig``, every atom may hold (memo atoms stay)."""
    given: dict[str, dict[str, str]] | None = None
    if desc is not None and (desc["bound"] or init or sig["kind"] != "method"):
        pos = list(sig["pos"])
        if len(desc["pos"]) <= len(pos):
            given = dict(zip(pos, desc["pos"]))
            given.update(desc["kw"])
    out: Guard = []
    for atom in guard:
        param, kind, arg = atom
        if kind == "memo":
            out.append(atom)
            continue
        if given is None or kind == ARGS or param.startswith(SELF):
            continue
        d = given.get(param)
        if d is None:
            d = sig["defaults"].get(param, {})
        if "p" in d:
            out.append([d["p"], kind, arg])
        elif atom_fails(atom, d):
            return None
    return out


def join_described(descs: Sequence[Described | None]) -> Described | None:
    """What several calls to one function all pass: an argument they pass alike stays, one
    they do not is unknown; None when one is not described or they differ in how many they
    pass by position."""
    if not descs or any(d is None for d in descs):
        return None
    first = descs[0]
    assert first is not None
    if any(len(d["pos"]) != len(first["pos"]) for d in descs):  # type: ignore[index]
        return None
    pos = [a if all(d["pos"][i] == a for d in descs) else {} for i, a in enumerate(first["pos"])]  # type: ignore[index]
    names = {k for d in descs for k in d["kw"]}  # type: ignore[union-attr]
    kw = {}
    for k in sorted(names):
        values = [d["kw"].get(k) for d in descs]  # type: ignore[union-attr]
        kw[k] = values[0] if all(v == values[0] for v in values) and values[0] is not None else {}
    return {"pos": pos, "kw": kw, "bound": all(d["bound"] for d in descs)}  # type: ignore[index]
