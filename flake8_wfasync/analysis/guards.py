"""Guards on a helper's parameters, and whether a call site's arguments fail them.

A helper often blocks on one branch only: ``if favicon is None: return ""`` before the
``open``, ``if isinstance(fp, str): fp = open(fp)``. While a helper is walked for WFA201, each
blocking call and each call to another function is tagged with the simple guards on the
helper's parameters that must hold to reach it (:func:`branch_guards`). A call site whose
arguments fail every guard of every blocking path (:func:`ruled_out`) gets no finding: a literal,
``None``, an omitted argument with a literal default, or a value built by a known constructor
(``io.BytesIO(data)``) decides a guard; anything else keeps the finding.

A method may block only on a guard on an attribute its constructor set from a parameter
(``self.log_file = log_file`` in ``__init__`` and ``if self.log_file:`` before the ``open``):
such an atom names ``self:log_file`` and is decided by the constructor calls that built the
instance the method is called on (:func:`constructions`: ``Logger(verbose=False)`` assigned to
the name or to ``self.logger``), as the resolver types that instance. Guards compose down a
chain (:func:`translate`): a helper that passes its own parameter on is guarded by the guard of
the helper it calls, and one that passes a literal the guard rules out does not block there.

Everything here is plain JSON data, so that project summaries can carry it:

- an atom is ``[param, kind, arg]``: kind ``none``, ``notnone``, ``truthy``, ``falsy``,
  ``isinstance`` / ``notisinstance`` (arg: type names), ``eq`` / ``ne`` (arg: a literal's
  repr), or ``memo`` (a module-level cache checked first: the body runs once, not per call);
  in a summary only, ``args`` on a way to block through another module's function: the
  arguments the call passes it (``arg``: see :func:`describe_args`), which the project index
  maps on that function's own guards (:func:`translate_described`);
- a guard is a list of atoms that all hold on the way to the call;
- the facts of a value are ``{"t": type name, "v": repr of the literal}`` (either may be absent).
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import libcst as cst

from .guard_logic import ARGS, SELF, Described, Facts, Guard, atom_fails
from .nodes import child_nodes
from .resolve import ClassInfo, Scope, SelfRef, resolve_expr, sub_blocks


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
    one in it), which module-level names serve as caches (the names it declares ``global`` or
    stores into by subscript, and a local set from one at its top level: ``options = _CACHE``
    before ``if options: return options``)."""

    def __init__(self, fn: cst.FunctionDef, scope: Scope, module: cst.Module,
                 module_names: Iterable[str],
                 init_attrs: Callable[[], Mapping[str, str]] | None = None,
                 module_name: str = "") -> None:
        self.scope = scope
        self.module = module
        # A class of the module in an isinstance() test is named by it (the project index
        # knows its bases); without a module name such a test is no guard.
        self.module_name = module_name
        # self.<attr> holding a constructor parameter all along: a guard on it is an atom on
        # "self:<parameter of __init__>", decided by how the instance was built. Looked up
        # only when a test reads such an attribute.
        self._init_attrs = init_attrs
        params = [p.name.value for p in _all_params(fn.params)]
        assigned, globals_declared, subscripted = _body_writes(fn.body)
        self.params = set(params)
        # Parameters the function assigns somewhere: each is one until the walk passes a
        # statement that may assign it (:meth:`passed`), in the order the walk goes.
        self.reassigned = self.params & assigned
        self.rebound: frozenset[str] = frozenset()
        self.aliases = _self_aliases(fn, self.params - assigned)
        module_set = set(module_names)
        self.caches = (globals_declared | subscripted) & module_set
        self.globals = globals_declared & module_set
        if self.caches:
            for alias, cache in _cache_aliases(fn.body.body, self.caches, globals_declared):
                self.caches.add(alias)
                if cache in self.globals:
                    self.globals.add(alias)

    def split(self, test: cst.BaseExpression) -> tuple[Guard, Guard]:
        """(atoms that hold where ``test`` is true, atoms that hold where it is false)."""
        t = type(test)
        if t is cst.BooleanOperation:
            left_true, left_false = self.split(test.left)  # type: ignore[attr-defined]
            right_true, right_false = self.split(test.right)  # type: ignore[attr-defined]
            if type(test.operator) is cst.And:  # type: ignore[attr-defined]
                return left_true + right_true, _either(left_false, right_false)
            return _either(left_true, right_true), left_false + right_false
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

    def passed(self, stmt: cst.CSTNode) -> None:
        """The walk is past ``stmt`` (or entering a loop): a parameter it may assign is no
        longer the argument (and a loop may assign it before any statement in it runs again)."""
        if self.reassigned:
            hit = _body_writes(stmt)[0] & self.reassigned
            if not hit <= self.rebound:
                self.rebound = self.rebound | hit

    def _param(self, expr: cst.BaseExpression, rebound: frozenset[str] | None = None) -> str | None:
        if type(expr) is cst.Name and expr.value in self.params:
            if expr.value in (self.rebound if rebound is None else rebound):
                return None
            return expr.value
        if type(expr) is cst.Attribute and type(expr.value) is cst.Name and expr.value.value == "self":
            attr = expr.attr.value
            if attr in self.aliases:
                return self.aliases[attr]
            if self._init_attrs is not None:
                param = self._init_attrs().get(attr)
                return f"{SELF}{param}" if param is not None else None
        return None

    def param_of(self, expr: cst.BaseExpression, rebound: frozenset[str] | None = None) -> str | None:
        """The parameter (or ``self:`` attribute) an argument expression is, if any;
        ``rebound``: the parameters assigned before the call (see :meth:`passed`)."""
        return self._param(expr, rebound)

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
            if name is None and self.module_name:
                target = resolve_expr(item, self.scope)
                if type(target) is ClassInfo and target.scope is not None and target.scope.kind == "module":
                    name = f"{self.module_name}.{target.name}"
            if name is None:
                return None
            out.append(name)
        return out


def _either(a: Guard, b: Guard) -> Guard:
    """What holds on one branch or the other (the false side of ``and``, the true side of
    ``or``). A branch through a memo test runs once, not per call, so what runs per call is
    the other branch: ``if _CACHE and not force: return _CACHE`` blocks after it per call only
    when ``force`` is true. Other atoms hold on both branches only by chance: dropped."""
    a_memo = any(atom[1] == "memo" for atom in a)
    b_memo = any(atom[1] == "memo" for atom in b)
    if a_memo and b_memo:
        return [["", "memo", None]]
    return b if a_memo else a if b_memo else []


def _cache_aliases(stmts: Sequence[cst.CSTNode], caches: set[str],
                   declared: set[str]) -> list[tuple[str, str]]:
    """``options = _CACHE`` among a function's top-level statements, ``options`` a local
    (not in ``declared``, the names it declares ``global``) bound nowhere else in it: that
    local is the cache wherever it is read (a read before the assignment would fail).
    (local, cache) pairs."""
    found: list[tuple[str, cst.CSTNode, str]] = []
    for stmt in stmts:
        if type(stmt) is not cst.SimpleStatementLine or len(stmt.body) != 1:
            continue
        small = stmt.body[0]
        if (type(small) is cst.Assign and len(small.targets) == 1
                and type(small.targets[0].target) is cst.Name
                and type(small.value) is cst.Name and small.value.value in caches):
            found.append((small.targets[0].target.value, stmt, small.value.value))
    out: list[tuple[str, str]] = []
    for alias, where, cache in found:
        if alias in caches or alias in declared:
            continue
        if any(alias in _body_writes(other)[0] for other in stmts if other is not where):
            continue
        out.append((alias, cache))
    return out


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


def init_attrs(cls: cst.ClassDef) -> dict[str, str]:
    """``self.x = x`` at the top of ``__init__`` (``x`` a parameter it never rebinds), and
    no other assignment of ``self.x`` anywhere in the class: attribute -> that parameter."""
    init = None
    for stmt in cls.body.body:
        if type(stmt) is cst.FunctionDef and stmt.name.value == "__init__":
            init = stmt
    if init is None:
        return {}
    params = [p.name.value for p in _all_params(init.params)][1:]
    assigned = _body_writes(init.body)[0]
    out = _self_aliases(init, {p for p in params if p not in assigned})
    if not out:
        return out
    counts: dict[str, int] = {}
    for attr, _ in self_writes(cls.body.body):
        counts[attr] = counts.get(attr, 0) + 1
    return {a: p for a, p in out.items() if counts.get(a) == 1}


def self_writes(stmts: Sequence[cst.CSTNode]) -> list[tuple[str, cst.BaseExpression | None]]:
    """Every write of ``self.<attr>`` in the statements (methods and their nested blocks and
    functions, not nested classes): the attribute and the value a plain assignment gives it,
    None for any other write (``+=``, a ``for`` or ``with`` target, unpacking). Statements
    only: an attribute cannot be a walrus target, and walking them is cheap."""
    out: list[tuple[str, cst.BaseExpression | None]] = []

    def target(t: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        if type(t) is cst.Attribute and type(t.value) is cst.Name and t.value.value == "self":
            out.append((t.attr.value, value))
        elif type(t) in (cst.Tuple, cst.List):
            for e in t.elements:  # type: ignore[attr-defined]
                target(e.value, None)
        elif type(t) is cst.StarredElement:
            target(t.value, None)  # type: ignore[attr-defined]

    todo = list(stmts)
    while todo:
        stmt = todo.pop()
        t = type(stmt)
        if t is cst.SimpleStatementLine:
            todo.extend(stmt.body)  # type: ignore[attr-defined]
        elif t is cst.Assign:
            single = len(stmt.targets) == 1  # type: ignore[attr-defined]
            for a in stmt.targets:  # type: ignore[attr-defined]
                target(a.target, stmt.value if single else None)  # type: ignore[attr-defined]
        elif t is cst.AnnAssign or t is cst.AugAssign:
            target(stmt.target, stmt.value if t is cst.AnnAssign else None)  # type: ignore[attr-defined]
        elif t is cst.ClassDef:
            continue
        else:
            if t is cst.For:
                target(stmt.target, None)  # type: ignore[attr-defined]
            elif t is cst.With:
                for item in stmt.items:  # type: ignore[attr-defined]
                    if item.asname is not None:
                        target(item.asname.name, None)  # type: ignore[arg-type]
            todo.extend(sub_blocks(stmt))
    return out


def constructions(receiver: cst.BaseExpression, scope: Scope,
                  module: cst.Module) -> list[tuple[cst.Call, Scope]] | None:
    """The constructor calls that make the value of ``receiver`` (a local or module-level
    name, or ``self.<attr>`` of a class of the module), with the scope each is read in; None
    when any assignment of it is something else, or there is none. Alternatives that are ``None`` or a
    parameter of the function assigning them are left out, as the resolver leaves them out
    when it types the value. A call is its own construction (``Logger(path).info(...)``)."""
    if type(receiver) is cst.Call:
        return [(receiver, scope)]
    if type(receiver) is cst.Name:
        name = receiver.value
        s: Scope | None = scope
        while s is not None and name not in s.names:
            s = s.parent
        if s is None or s.kind == "class":
            return None
        owner = s.owner
        if s.kind == "function" and owner is None:
            return None
        body = owner.body if owner is not None else module
        params = {p.name.value for p in _all_params(owner.params)} if owner is not None else set()
        values = _assigned_values(body, lambda t: type(t) is cst.Name and t.value == name)
        if not values:
            return None
        return _calls_of(values, params, s)
    if type(receiver) is cst.Attribute and type(receiver.value) is cst.Name and receiver.value.value == "self":
        me = resolve_expr(receiver.value, scope)
        if not isinstance(me, SelfRef):
            return None
        self_cls = me.cls
        attr = receiver.attr.value
        out: list[tuple[cst.Call, Scope]] = []
        cls_scope = self_cls.scope
        if cls_scope is None:
            return None
        for stmt in self_cls.node.body.body:
            if type(stmt) is not cst.FunctionDef:
                if _declares(stmt, attr):
                    return None  # a class-level value or annotation: not only constructions
                continue
            values = [v for a, v in self_writes(stmt.body.body) if a == attr]
            if not values:
                continue
            if any(v is None for v in values):
                return None
            params = {p.name.value for p in _all_params(stmt.params)}
            calls = _calls_of(values, params, cls_scope)  # type: ignore[arg-type]
            if calls is None:
                return None
            out += calls
        return out or None
    return None


def _declares(stmt: cst.CSTNode, attr: str) -> bool:
    if type(stmt) is not cst.SimpleStatementLine:
        return False
    for small in stmt.body:
        targets = ([t.target for t in small.targets] if type(small) is cst.Assign else  # type: ignore[attr-defined]
                   [small.target] if type(small) is cst.AnnAssign else [])  # type: ignore[attr-defined]
        if any(type(t) is cst.Name and t.value == attr for t in targets):
            return True
    return False


def _assigned_values(body: cst.CSTNode, matches: Any) -> list[cst.BaseExpression] | None:
    """The values assigned to the targets ``matches`` accepts (outside nested scopes); None
    when one is bound some other way (a tuple target, ``for``, ``with ... as``, ``+=``)."""
    values: list[cst.BaseExpression] = []
    other = False

    class Visit(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            nonlocal other
            for t in node.targets:
                if matches(t.target):
                    if len(node.targets) != 1:
                        other = True
                    values.append(node.value)
                elif type(t.target) in (cst.Tuple, cst.List) and _any_target(t.target, matches):
                    other = True

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            nonlocal other
            if matches(node.target):
                if node.value is None:
                    other = True
                else:
                    values.append(node.value)

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            nonlocal other
            other = other or matches(node.target)

        def visit_For(self, node: cst.For) -> None:
            nonlocal other
            other = other or _any_target(node.target, matches)

        def visit_AsName(self, node: cst.AsName) -> None:
            nonlocal other
            other = other or _any_target(node.name, matches)  # type: ignore[arg-type]

        def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
            nonlocal other
            other = other or matches(node.target)

        def visit_Global(self, node: cst.Global) -> None:
            nonlocal other
            other = True  # assigned from elsewhere too

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return body is node

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

    body.visit(Visit())
    return None if other else values


def _any_target(target: cst.BaseExpression, matches: Any) -> bool:
    if type(target) in (cst.Tuple, cst.List):
        return any(_any_target(e.value, matches) for e in target.elements)  # type: ignore[attr-defined]
    if type(target) is cst.StarredElement:
        return _any_target(target.value, matches)  # type: ignore[attr-defined]
    return bool(matches(target))


def _calls_of(values: Sequence[cst.BaseExpression], params: set[str],
              scope: Scope) -> list[tuple[cst.Call, Scope]] | None:
    out: list[tuple[cst.Call, Scope]] = []
    todo = list(values)
    while todo:
        v = todo.pop()
        t = type(v)
        if t is cst.IfExp:
            todo += [v.body, v.orelse]  # type: ignore[attr-defined]
        elif t is cst.BooleanOperation and type(v.operator) is cst.Or:  # type: ignore[attr-defined]
            todo += [v.left, v.right]  # type: ignore[attr-defined]
        elif t is cst.Call:
            out.append((v, scope))  # type: ignore[arg-type]
        elif t is cst.Name and (v.value == "None" or v.value in params):  # type: ignore[attr-defined]
            continue
        else:
            return None
    return out or None


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


def given_args(call: cst.Call, sig: Mapping[str, Any]) -> dict[str, cst.BaseExpression] | None:
    """Parameter -> the argument a call passes to it; None when the call cannot be matched
    to the signature (``*args``, ``**kwargs``)."""
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
    return given


def call_facts(call: cst.Call, sig: Mapping[str, Any], scope: Scope, module: cst.Module,
               wanted: Iterable[str]) -> dict[str, Facts] | None:
    """Facts of the arguments a call passes to the parameters ``wanted``; None when the call
    cannot be matched to the signature (``*args``, ``**kwargs``)."""
    given = given_args(call, sig)
    if given is None:
        return None
    out: dict[str, Facts] = {}
    for name in wanted:
        if name in given:
            out[name] = facts_of(given[name], scope, module)
        elif name in sig["defaults"]:
            out[name] = dict(sig["defaults"][name])
        else:
            out[name] = {}
    return out


def guard_params(guards: Iterable[Guard]) -> set[str]:
    return {a[0] for g in guards for a in g if a[1] not in ("memo", ARGS) and not a[0].startswith(SELF)}


def self_params(guards: Iterable[Guard]) -> set[str]:
    """The constructor parameters the ``self:`` atoms of the guards name."""
    return {a[0][len(SELF):] for g in guards for a in g if a[0].startswith(SELF)}


def translate(guard: Guard, call: cst.Call, sig: Mapping[str, Any], scope: Scope, module: cst.Module,
              reader: GuardReader | None, same_self: bool,
              rebound: frozenset[str] = frozenset()) -> Guard | None:
    """A callee's guard seen from the function that calls it: atoms on parameters the call
    passes its own parameters to are renamed, atoms a literal argument decides are dropped
    when they hold, atoms on ``self:`` attributes stay when the callee runs on the same
    ``self``; any other atom is dropped (it may hold). None when the call's arguments fail
    the guard."""
    given = given_args(call, sig)
    out: Guard = []
    for atom in guard:
        param, kind, arg = atom
        if kind == "memo":
            out.append(atom)
            continue
        if kind == ARGS:
            # The arguments of a call further down, seen from here: what it passes on of
            # the callee's parameters becomes what this call gives them.
            if given is not None:
                out.append([param, kind, _map_described(arg, given, sig, scope, module, reader, rebound)])
            continue
        if param.startswith(SELF):
            if same_self:
                out.append(atom)
            continue
        if given is None:
            continue
        expr = given.get(param)
        if expr is None:
            facts = dict(sig["defaults"].get(param, {}))
        else:
            mine = reader.param_of(expr, rebound) if reader is not None else None
            if mine is not None:
                out.append([mine, kind, arg])
                continue
            facts = facts_of(expr, scope, module)
        if atom_fails(atom, facts):
            return None
    return out


# --- across modules: the arguments of a call to another module's function ----------------------

def describe_args(call: cst.Call, scope: Scope, module: cst.Module, reader: GuardReader | None,
                  bound: bool, rebound: frozenset[str] = frozenset()) -> Described | None:
    """The arguments a call passes, by position and keyword, for a summary: each is
    ``{"p": parameter}`` when it is one of the calling function's own parameters, else its
    facts (see :func:`facts_of`). ``bound``: the callee is reached on an instance (or is a
    function), so the arguments line up with its signature. None for ``*args``, ``**kwargs``."""
    if any(a.star for a in call.args):
        return None
    pos: list[Facts | dict[str, str]] = []
    kw: dict[str, Facts | dict[str, str]] = {}
    for a in call.args:
        mine = reader.param_of(a.value, rebound) if reader is not None else None
        d = {"p": mine} if mine is not None and not mine.startswith(SELF) else facts_of(a.value, scope, module)
        if a.keyword is None:
            pos.append(d)
        else:
            kw[a.keyword.value] = d
    return {"pos": pos, "kw": dict(sorted(kw.items())), "bound": bound}


def _map_described(desc: Described, given: Mapping[str, cst.BaseExpression], sig: Mapping[str, Any],
                   scope: Scope, module: cst.Module, reader: GuardReader | None,
                   rebound: frozenset[str]) -> Described:
    def seen(d: dict[str, str]) -> dict[str, str]:
        param = d.get("p")
        if param is None:
            return d
        expr = given.get(param)
        if expr is None:
            return dict(sig["defaults"].get(param, {}))
        mine = reader.param_of(expr, rebound) if reader is not None else None
        if mine is not None and not mine.startswith(SELF):
            return {"p": mine}
        return facts_of(expr, scope, module)

    return {"pos": [seen(d) for d in desc["pos"]], "kw": {k: seen(d) for k, d in desc["kw"].items()},
            "bound": desc["bound"]}
