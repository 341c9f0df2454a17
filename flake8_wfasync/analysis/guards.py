"""Guards on a helper's parameters, and whether a call site's arguments fail them.

A helper often blocks on one branch only: ``if favicon is None: return ""`` before the
``open``, ``if isinstance(fp, str): fp = open(fp)``. While a helper is walked for WFA201, each
blocking call and each call to another function is tagged with the simple guards on the
helper's parameters that must hold to reach it (:func:`branch_guards`). A call site whose
arguments fail every guard of every blocking path (:func:`ruled_out`) gets no finding: a literal,
``None``, an omitted argument with a literal default, or a value built by a known constructor
(``io.BytesIO(data)``) decides a guard; anything else keeps the finding.

Everything here is plain JSON data, so that project summaries can carry it:

- an atom is ``[param, kind, arg]``: kind ``none``, ``notnone``, ``truthy``, ``falsy``,
  ``isinstance`` / ``notisinstance`` (arg: type names), ``eq`` / ``ne`` (arg: a literal's
  repr), or ``memo`` (a module-level cache checked first: the body runs once, not per call);
- a guard is a list of atoms that all hold on the way to the call;
- the facts of a value are ``{"t": type name, "v": repr of the literal}`` (either may be absent).
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import libcst as cst

from .nodes import child_nodes
from .resolve import Scope, resolve_expr

Atom = list[Any]
Guard = list[Atom]
Facts = dict[str, str]

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
# Calls whose result type is known: constructor -> type.
_CONSTRUCTED = {
    "io.BytesIO": "io.BytesIO", "io.StringIO": "io.StringIO",
    "pathlib.Path": "pathlib.Path", "pathlib.PurePath": "pathlib.PurePath",
    "pathlib.PurePosixPath": "pathlib.PurePath", "pathlib.PureWindowsPath": "pathlib.PurePath",
    "builtins.str": "str", "builtins.bytes": "bytes", "builtins.dict": "dict",
    "builtins.list": "list", "builtins.tuple": "tuple", "builtins.set": "set",
}
_LITERAL_TYPES = (str, bytes, int, float, bool, type(None))


def _type_name(expr: cst.BaseExpression, scope: Scope) -> str | None:
    target = resolve_expr(expr, scope)
    if not isinstance(target, str):
        return None
    name = target.removeprefix("builtins.")
    return "pathlib.Path" if name in ("pathlib.PosixPath", "pathlib.WindowsPath") else name


def _literal(expr: cst.BaseExpression, module: cst.Module) -> tuple[bool, Any]:
    """(True, value) for a literal constant (strings, bytes, numbers, True/False/None)."""
    if type(expr) in (cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float,
                      cst.UnaryOperation):
        try:
            value = ast.literal_eval(module.code_for_node(expr).strip())
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return False, None
        return isinstance(value, _LITERAL_TYPES), value
    if type(expr) is cst.Name and expr.value in ("True", "False", "None"):
        return True, {"True": True, "False": False, "None": None}[expr.value]
    return False, None


def facts_of(expr: cst.BaseExpression, scope: Scope, module: cst.Module) -> Facts:
    """What is known of a value from its expression alone."""
    ok, value = _literal(expr, module)
    if ok:
        return {"t": type(value).__name__, "v": repr(value)}
    t = type(expr)
    if t is cst.FormattedString:
        return {"t": "str"}
    if t in (cst.List, cst.Tuple, cst.Set, cst.Dict):
        kind = {cst.List: "list", cst.Tuple: "tuple", cst.Set: "set", cst.Dict: "dict"}[t]
        out: Facts = {"t": kind}
        if not expr.elements:  # type: ignore[attr-defined]
            out["v"] = repr({"list": [], "tuple": (), "set": (), "dict": {}}[kind])
        return out
    if t is cst.Call:
        name = _type_name(expr.func, scope)  # type: ignore[attr-defined]
        typ = _CONSTRUCTED.get(f"builtins.{name}" if name in ("str", "bytes", "dict", "list", "tuple", "set") else name or "")
        if typ is not None:
            return {"t": typ}
    return {}


# --- reading guards off a helper -------------------------------------------------------------

class GuardReader:
    """The guards of one function: which names are its parameters (and ``self.x`` bound to
    one in it), which module-level names serve as caches."""

    def __init__(self, fn: cst.FunctionDef, scope: Scope, module: cst.Module,
                 module_names: Iterable[str]) -> None:
        self.scope = scope
        self.module = module
        params = [p.name.value for p in _all_params(fn.params)]
        assigned, globals_declared, subscripted = _body_writes(fn.body)
        self.params = {p for p in params if p not in assigned}
        self.aliases = _self_aliases(fn, self.params)
        module_set = set(module_names)
        self.caches = (globals_declared | subscripted) & module_set
        self.globals = globals_declared & module_set

    def split(self, test: cst.BaseExpression) -> tuple[Guard, Guard]:
        """(atoms that hold where ``test`` is true, atoms that hold where it is false)."""
        t = type(test)
        if t is cst.BooleanOperation:
            left_true, left_false = self.split(test.left)  # type: ignore[attr-defined]
            right_true, right_false = self.split(test.right)  # type: ignore[attr-defined]
            if type(test.operator) is cst.And:  # type: ignore[attr-defined]
                return left_true + right_true, _only_memo(left_false, right_false)
            return _only_memo(left_true, right_true), left_false + right_false
        if t is cst.UnaryOperation and type(test.operator) is cst.Not:  # type: ignore[attr-defined]
            yes, no = self.split(test.expression)  # type: ignore[attr-defined]
            return no, yes
        param = self._param(test)
        if param is not None:
            return [[param, "truthy", None]], [[param, "falsy", None]]
        if self._cache(test):
            return [["", "memo", None]], [["", "memo", None]]
        if t is cst.Comparison and len(test.comparisons) == 1:  # type: ignore[attr-defined]
            return self._comparison(test)  # type: ignore[arg-type]
        if t is cst.Call and len(test.args) == 2 and _type_name(test.func, self.scope) == "isinstance":  # type: ignore[attr-defined]
            param = self._param(test.args[0].value)  # type: ignore[attr-defined]
            types = self._types(test.args[1].value)  # type: ignore[attr-defined]
            if param is not None and types is not None:
                return [[param, "isinstance", types]], [[param, "notisinstance", types]]
        return [], []

    def _comparison(self, test: cst.Comparison) -> tuple[Guard, Guard]:
        target = test.comparisons[0]
        op, left, right = type(target.operator), test.left, target.comparator
        if op in (cst.In, cst.NotIn) and self._cache(right):
            return [["", "memo", None]], [["", "memo", None]]
        if op in (cst.Is, cst.IsNot, cst.Equal, cst.NotEqual):
            param = self._param(left)
            other = right
            if param is None:
                param, other = self._param(right), left
            if param is None:
                return [], []
            ok, value = _literal(other, self.module)
            if not ok:
                return [], []
            if op in (cst.Is, cst.IsNot):
                if value is not None:
                    return [], []
                is_none, not_none = [[param, "none", None]], [[param, "notnone", None]]
                return (is_none, not_none) if op is cst.Is else (not_none, is_none)
            eq, ne = [[param, "eq", repr(value)]], [[param, "ne", repr(value)]]
            return (eq, ne) if op is cst.Equal else (ne, eq)
        return [], []

    def _param(self, expr: cst.BaseExpression) -> str | None:
        if type(expr) is cst.Name and expr.value in self.params:
            return expr.value
        if type(expr) is cst.Attribute and type(expr.value) is cst.Name and expr.value.value == "self":
            return self.aliases.get(expr.attr.value)
        return None

    def _cache(self, expr: cst.BaseExpression) -> bool:
        """A module-level cache the function fills: ``_CACHE``, ``_CACHE is None``."""
        if type(expr) is cst.Name:
            return expr.value in self.caches
        if type(expr) is cst.Comparison and len(expr.comparisons) == 1:
            op = type(expr.comparisons[0].operator)
            ok, value = _literal(expr.comparisons[0].comparator, self.module)
            return (op in (cst.Is, cst.IsNot) and ok and value is None and type(expr.left) is cst.Name
                    and expr.left.value in self.globals)
        return False

    def _types(self, expr: cst.BaseExpression) -> list[str] | None:
        items = [e.value for e in expr.elements] if type(expr) is cst.Tuple else [expr]  # type: ignore[attr-defined]
        out = []
        for item in items:
            name = _type_name(item, self.scope)
            if name is None:
                return None
            out.append(name)
        return out


def _only_memo(a: Guard, b: Guard) -> Guard:
    """What holds on either of two branches: a memo test on both sides."""
    return [["", "memo", None]] if a and b and a[0][1] == "memo" and b[0][1] == "memo" else []


def _all_params(params: cst.Parameters) -> list[cst.Param]:
    return [*params.posonly_params, *params.params, *params.kwonly_params]


def _names(target: cst.CSTNode, out: set[str]) -> None:
    if type(target) is cst.Name:
        out.add(target.value)
    elif type(target) in (cst.Tuple, cst.List):
        for e in target.elements:  # type: ignore[attr-defined]
            _names(e.value, out)
    elif type(target) is cst.StarredElement:
        _names(target.value, out)  # type: ignore[attr-defined]


def _self_aliases(fn: cst.FunctionDef, params: set[str]) -> dict[str, str]:
    """``self.x = x`` at the top of the function's body, ``x`` a parameter it never rebinds:
    ``self.x`` is that parameter for the rest of it (when nothing else assigns ``self.x``)."""
    out: dict[str, str] = {}
    seen: set[str] = set()
    for stmt in fn.body.body:
        if type(stmt) is not cst.SimpleStatementLine:
            continue
        for small in stmt.body:
            if type(small) is not cst.Assign:
                continue
            for target in small.targets:
                t = target.target
                if type(t) is cst.Attribute and type(t.value) is cst.Name and t.value.value == "self":
                    attr = t.attr.value
                    if attr in seen:
                        out.pop(attr, None)
                        continue
                    seen.add(attr)
                    if type(small.value) is cst.Name and small.value.value in params and len(small.targets) == 1:
                        out[attr] = small.value.value
    return out


def _body_writes(body: cst.CSTNode) -> tuple[set[str], set[str], set[str]]:
    """One walk over a function's body, by hand (libcst's visitors rebuild every node they
    pass: several times slower, and every function of a summarised module is read here).
    Returns the names it assigns (a nested ``def`` or ``class`` by its name only, nothing
    inside a lambda), the names it declares ``global``, and the names it stores into by
    subscript (not inside a nested ``def``)."""
    assigned: set[str] = set()
    declared: set[str] = set()
    stored: set[str] = set()
    stack: list[tuple[cst.CSTNode, bool]] = [(body, True)]  # (node, whether its assignments count)
    while stack:
        node, counts = stack.pop()
        t = type(node)
        if t is cst.FunctionDef:
            if counts:
                assigned.add(node.name.value)  # type: ignore[attr-defined]
            continue
        if t is cst.ClassDef:
            if counts:
                assigned.add(node.name.value)  # type: ignore[attr-defined]
            counts = False
        elif t is cst.Lambda:
            counts = False
        elif t is cst.Global:
            declared.update(n.name.value for n in node.names)  # type: ignore[attr-defined]
        elif t is cst.AssignTarget:
            target = node.target  # type: ignore[attr-defined]
            if counts:
                _names(target, assigned)
            if type(target) is cst.Subscript and type(target.value) is cst.Name:
                stored.add(target.value.value)
        elif counts:
            if t is cst.AugAssign or t is cst.For or t is cst.NamedExpr:
                _names(node.target, assigned)  # type: ignore[attr-defined]
            elif t is cst.AnnAssign:
                if node.value is not None:  # type: ignore[attr-defined]
                    _names(node.target, assigned)  # type: ignore[attr-defined]
            elif t is cst.AsName:
                _names(node.name, assigned)  # type: ignore[attr-defined]
        stack.extend((child, counts) for child in child_nodes(node, _node_fields(t)))
    return assigned, declared, stored


_NODE_FIELDS: dict[type, tuple[str, ...]] = {}
_PUNCTUATION = frozenset({"lpar", "rpar", "comma", "semicolon", "newline", "leading_lines", "header",
                          "footer", "lines_after_decorators", "indent", "colon", "equal", "dot",
                          "operator", "asynchronous", "star", "lbracket", "rbracket", "lbrace", "rbrace"})


def _node_fields(cls: type) -> tuple[str, ...]:
    """The fields of a libcst node type that may hold code (not whitespace or punctuation)."""
    names = _NODE_FIELDS.get(cls)
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(cls)
                      if f.name not in _PUNCTUATION and "whitespace" not in f.name)
        _NODE_FIELDS[cls] = names
    return names


def returns(stmts: Sequence[cst.CSTNode]) -> bool:
    """A block that always leaves the function (its last statement returns or raises)."""
    if not stmts:
        return False
    last = stmts[-1]
    if type(last) is cst.SimpleStatementLine:
        return any(type(s) in (cst.Return, cst.Raise) for s in last.body)
    return type(last) in (cst.Return, cst.Raise)


# --- the decorators that memoise --------------------------------------------------------------

_MEMOISERS = frozenset({"functools.cache", "functools.lru_cache", "functools.cached_property"})


def memoised(fn: cst.FunctionDef, scope: Scope) -> bool:
    """``@functools.cache`` / ``@lru_cache(...)``: the body runs once per argument tuple."""
    for dec in fn.decorators:
        expr = dec.decorator
        if type(expr) is cst.Call:
            expr = expr.func
        if _type_name(expr, scope) in _MEMOISERS:
            return True
    return False


# --- the call site ---------------------------------------------------------------------------

def signature(fn: cst.FunctionDef, scope: Scope, module: cst.Module, in_class: bool) -> dict[str, Any]:
    """What a call site needs to map its arguments on the guarded parameters. ``kind``:
    ``function``, ``static``, ``class`` or ``method`` (``self`` and ``cls`` are left out)."""
    decorators = {d.decorator.value for d in fn.decorators if type(d.decorator) is cst.Name}
    kind = "function"
    if in_class:
        kind = ("static" if "staticmethod" in decorators else
                "class" if "classmethod" in decorators else "method")
    positional = [*fn.params.posonly_params, *fn.params.params]
    if kind in ("method", "class") and positional:
        positional = positional[1:]
    defaults = {}
    for p in [*positional, *fn.params.kwonly_params]:
        if p.default is not None:
            defaults[p.name.value] = facts_of(p.default, scope, module)
    star = isinstance(fn.params.star_arg, cst.Param) or fn.params.star_kwarg is not None
    return {"kind": kind, "pos": [p.name.value for p in positional],
            "kw": [p.name.value for p in fn.params.kwonly_params], "defaults": defaults, "star": star}


def call_facts(call: cst.Call, sig: Mapping[str, Any], scope: Scope, module: cst.Module,
               wanted: Iterable[str]) -> dict[str, Facts] | None:
    """Facts of the arguments a call passes to the parameters ``wanted``; None when the call
    cannot be matched to the signature (``*args``, ``**kwargs``)."""
    args = call.args
    if any(a.star for a in args):
        return None
    pos = list(sig["pos"])
    given: dict[str, cst.BaseExpression] = {}
    i = 0
    for a in args:
        if a.keyword is None:
            if i >= len(pos):
                return None
            given[pos[i]] = a.value
            i += 1
        else:
            given[a.keyword.value] = a.value
    out: dict[str, Facts] = {}
    for name in wanted:
        if name in given:
            out[name] = facts_of(given[name], scope, module)
        elif name in sig["defaults"]:
            out[name] = dict(sig["defaults"][name])
        else:
            out[name] = {}
    return out


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


def guard_fails(guard: Guard, facts: Mapping[str, Facts]) -> bool:
    return any(atom_fails(a, facts.get(a[0], {})) for a in guard)


def guard_params(guards: Iterable[Guard]) -> set[str]:
    return {a[0] for g in guards for a in g if a[1] != "memo"}
