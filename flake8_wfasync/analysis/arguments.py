"""What the literal arguments of a call say about it: the catalog's argument conditions that
a call site decides by itself.

:data:`flake8_wfasync.knowledge.catalog.ARGUMENT_CONDITIONS` names, for a call that blocks
(or builds a value that blocks) only for some arguments, the argument that decides and a
condition on it. The conditions here are decided by the argument's literal text alone, so that
the resolver can use them while it types a constructor's result (``queue.Queue()`` is an
unbounded queue, ``sqlite3.connect(":memory:")`` a database in memory) and the walker at the
blocking call itself (``q.get(block=False)``). The conditions that need the value of a name
(an open file, an in-memory buffer) stay with the walker.

Anything that is not a literal (a name, a call, ``*args``) keeps what the call usually does.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from ..knowledge import catalog

__all__ = ["LITERAL_CONDITIONS", "PREFIX_TESTS", "STAR", "argument", "literal_blocks", "tested_prefix"]

# An argument hidden behind ``*args`` or ``**kwargs``: it may be anything.
STAR = object()
_UNKNOWN = object()


def argument(call: cst.Call, position: int, keyword: str) -> cst.BaseExpression | object | None:
    """The expression passed as the parameter at ``position`` / named ``keyword``; None when
    it is not passed, :data:`STAR` when it may hide behind ``*args`` or ``**kwargs``."""
    positional = 0
    star = False
    found: cst.BaseExpression | None = None
    for a in call.args:
        if a.star:
            star = True  # the positions of what follows are unknown
        elif a.keyword is not None:
            if a.keyword.value == keyword:
                return a.value
        elif not star:
            if positional == position:
                found = a.value
            positional += 1
    return found if found is not None or not star else STAR


def _literal(node: cst.BaseExpression) -> object:
    """The value of a literal number, string, ``True``, ``False`` or ``None``; else unknown."""
    t = type(node)
    if t is cst.Integer:
        return node.evaluated_value  # type: ignore[attr-defined]
    if t is cst.UnaryOperation and type(node.operator) is cst.Minus and type(node.expression) is cst.Integer:
        return -node.expression.evaluated_value  # type: ignore[attr-defined]
    if t is cst.SimpleString or t is cst.ConcatenatedString:
        return node.evaluated_value  # type: ignore[attr-defined]
    if t is cst.Name and node.value in ("True", "False", "None"):  # type: ignore[attr-defined]
        return {"True": True, "False": False, "None": None}[node.value]  # type: ignore[attr-defined]
    return _UNKNOWN


def _bounded(arg: cst.BaseExpression | None, call: cst.Call) -> bool:
    # Queue(maxsize) with maxsize <= 0 (the default) never fills up.
    if arg is None:
        return False
    v = _literal(arg)
    return not (type(v) is int and v <= 0)


def _not_false(arg: cst.BaseExpression | None, call: cst.Call) -> bool:
    # get(block=False) / put(x, False): raise Empty or Full at once instead of waiting.
    if arg is None:
        return True
    v = _literal(arg)
    return not (v is False or (type(v) is int and v == 0))


def _by_value(kind: str) -> Callable[[cst.BaseExpression | None, cst.Call], bool]:
    """A condition the catalog decides from the argument's value (``":memory:"``, a ``data:``
    URL), as strict mode does from the real call, here on the literals of the source."""
    decide = catalog.VALUE_CONDITIONS[kind]

    def blocks(arg: cst.BaseExpression | None, call: cst.Call) -> bool:
        value = _literal(arg) if arg is not None else _UNKNOWN
        given: dict[str, object] = {}
        for keyword, position in catalog.CONDITION_EXTRAS.get(kind, ()):
            extra = argument(call, position, keyword)
            given[keyword] = _literal(extra) if isinstance(extra, cst.BaseExpression) else _UNKNOWN
        return decide(value, given)

    return blocks


# condition kind -> whether the (literal) argument lets the call block.
LITERAL_CONDITIONS: dict[str, Callable[[cst.BaseExpression | None, cst.Call], bool]] = {
    "bounded": _bounded,
    "not-false": _not_false,
    **{kind: _by_value(kind) for kind in catalog.VALUE_CONDITIONS},
}


def literal_blocks(call: cst.Call, condition: tuple[str, int, str]) -> bool:
    """Whether ``call`` may block (or build a value that blocks) given a literal condition of
    the catalog; True whenever its arguments cannot be read."""
    kind, position, keyword = condition
    arg = argument(call, position, keyword)
    if arg is STAR:
        return True
    return LITERAL_CONDITIONS[kind](arg, call)  # type: ignore[arg-type]


# Conditions that a test of a string parameter's prefix decides as a literal would:
# ``if url.startswith("data:"): return urlopen(url).read()``.
PREFIX_TESTS = {"not-data-url": "data:"}


def tested_prefix(fn: cst.FunctionDef, call: cst.Call, name: str, prefix: str) -> bool:
    """``call`` runs only inside ``if name.startswith("<prefix>...")`` (alone or in an ``and``)
    in ``fn``, and ``name`` is not bound again inside that ``if``."""
    path = _path_to(fn, call)
    for i, node in enumerate(path[:-1]):
        if type(node) is cst.If and path[i + 1] is node.body and _tests_prefix(node.test, name, prefix):
            return not _rebinds(node.body, name)
    return False


def _path_to(root: cst.CSTNode, target: cst.CSTNode) -> list[cst.CSTNode]:
    """The nodes from ``root`` down to ``target`` (empty when it is not there)."""
    stack: list[tuple[cst.CSTNode, int]] = [(root, 0)]
    path: list[cst.CSTNode] = []
    while stack:
        node, depth = stack.pop()
        del path[depth:]
        path.append(node)
        if node is target:
            return path
        stack.extend((child, depth + 1) for child in reversed(node.children))
    return []


def _tests_prefix(test: cst.BaseExpression, name: str, prefix: str) -> bool:
    if type(test) is cst.BooleanOperation:
        return type(test.operator) is cst.And and (
            _tests_prefix(test.left, name, prefix) or _tests_prefix(test.right, name, prefix))
    if type(test) is not cst.Call or type(test.func) is not cst.Attribute or len(test.args) != 1:
        return False
    func = test.func
    if func.attr.value != "startswith" or type(func.value) is not cst.Name or func.value.value != name:
        return False
    v = _literal(test.args[0].value) if test.args[0].keyword is None and not test.args[0].star else None
    return type(v) is str and v[:len(prefix)].lower() == prefix


def _rebinds(body: cst.CSTNode, name: str) -> bool:
    """Some assignment, loop, ``with``, walrus or ``del`` in ``body`` binds ``name``."""
    stack = [body]
    while stack:
        node = stack.pop()
        t = type(node)
        targets: list[cst.CSTNode] = []
        if t is cst.AssignTarget or t is cst.AnnAssign or t is cst.AugAssign or t is cst.For or t is cst.CompFor:
            targets.append(node.target)  # type: ignore[attr-defined]
        elif t is cst.AsName or t is cst.NamedExpr:
            targets.append(node.name if t is cst.AsName else node.target)  # type: ignore[attr-defined]
        elif t is cst.Del:
            targets.append(node.target)  # type: ignore[attr-defined]
        while targets:
            tg = targets.pop()
            if type(tg) is cst.Name and tg.value == name:
                return True
            if type(tg) in (cst.Tuple, cst.List):
                targets.extend(el.value for el in tg.elements)  # type: ignore[attr-defined]
            elif type(tg) is cst.StarredElement:
                targets.append(tg.value)  # type: ignore[attr-defined]
        stack.extend(node.children)
    return False
