"""``wfasync fix``: libcst rewrites of blocking calls that can be rewritten safely.

Rewrites (each keeps the surrounding comments and formatting):

- a blocking call in a coroutine -> ``await asyncio.to_thread(fn, *args, **kwargs)``;
- a call with a drop-in async twin -> ``await asyncio.sleep(x)`` for ``time.sleep(x)``, and
  ``await obj.acomplete(...)`` for ``obj.complete(...)`` (WFA110);
- a call evaluated before it is offloaded (WFA301) -> ``to_thread(f, x)``;
- an async step that never awaits (WFA401) -> a plain ``def`` (the runtime runs it in a thread).

``import asyncio`` is added when the module has none. Left alone, with the finding reported
and the reason: a call used as a context manager or as an iterator, a call inside a lambda or
a comprehension, a call returning a file object or a method on a file object opened in the
coroutine (wrapping one call would leave the other reads and writes blocking), sqlite3 objects
(bound to the thread that made them), and rules with no mechanical rewrite.

A rewritten file must parse and compile, must not gain findings, and must be a fixed point
(fixing it again changes nothing); otherwise it is left untouched and the reason reported.
Files are written atomically, keeping encoding, BOM, newlines and permissions.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import io
import os
import re
import stat
import time
import tokenize
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libcst as cst

from .analyzer import _NODE_TYPES, child_nodes
from .atomic import replace_file
from .config import Config
from .findings import Finding
from .runner import analysis_config, source_lines, suppressed

# Codes whose finding is a call that blocks where it stands: offloading it is always correct.
OFFLOADABLE = frozenset({"WFA101", "WFA102", "WFA103", "WFA104", "WFA105", "WFA106", "WFA107",
                         "WFA108", "WFA109", "WFA110", "WFA199", "WFA201"})
# Function twins that take exactly the same arguments.
DROP_IN_TWINS = {"time.sleep": "asyncio.sleep"}
FILE_OPENERS = frozenset({"builtins.open", "open", "io.open", "os.fdopen", "codecs.open", "gzip.open",
                          "bz2.open", "lzma.open", "tarfile.open", "zipfile.ZipFile", "pathlib.Path.open",
                          "tempfile.NamedTemporaryFile", "tempfile.TemporaryFile"})
THREAD_BOUND_PREFIXES = ("sqlite3.",)
OFFLOADERS_WITH_KWARGS = frozenset({"to_thread"})
OFFLOADERS_POSITIONAL = {"run_in_executor": 1, "run_sync": 0}  # index of the callable argument
MAX_PASSES = 4

_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)


_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(cls: type) -> tuple[str, ...]:
    names = _CHILD_FIELDS.get(cls)
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(cls))
        _CHILD_FIELDS[cls] = names
    return names


class _ParentMap:
    """Node -> parent, keyed by identity: libcst nodes hash with a Python-level ``__hash__``,
    which made building the map cost more than walking the tree."""

    __slots__ = ("by_id",)

    def __init__(self) -> None:
        self.by_id: dict[int, cst.CSTNode] = {}

    def get(self, node: cst.CSTNode | None) -> cst.CSTNode | None:
        return self.by_id.get(id(node))

    def __contains__(self, node: object) -> bool:
        return id(node) in self.by_id

    def __getitem__(self, node: cst.CSTNode) -> cst.CSTNode:
        return self.by_id[id(node)]


class _Parents:
    """Every node's parent and the names of awaited calls, in one walk over the dataclass
    fields (libcst's visitors rebuild each node they pass, several times slower)."""

    def __init__(self, module: cst.Module) -> None:
        self.parent = _ParentMap()
        self.awaited: set[str] = set()
        parent = self.parent.by_id
        node_types = _NODE_TYPES
        stack: list[cst.CSTNode] = [module]
        pop, push = stack.pop, stack.append
        while stack:
            node = pop()
            t = type(node)
            if t is cst.Await and type(node.expression) is cst.Call:
                func = node.expression.func
                if type(func) is cst.Name:
                    self.awaited.add(func.value)
                elif type(func) is cst.Attribute:
                    self.awaited.add(func.attr.value)
            # (child_nodes() inlined: this walk covers whole modules, and the helper's list per
            # node made it half as slow again)
            for name in _child_fields(t):
                value = getattr(node, name)
                tv = type(value)
                if tv in node_types:
                    parent[id(value)] = node
                    push(value)
                elif tv is tuple or tv is list:
                    for item in value:
                        if type(item) in node_types:
                            parent[id(item)] = node
                            push(item)


def _dotted(expr: cst.BaseExpression) -> str | None:
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        base = _dotted(expr.value)
        return f"{base}.{expr.attr.value}" if base else None
    return None


def _nodes_in(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node under ``root`` and ``root`` itself, in no particular order (what a libcst
    visitor visits, without the cost of its dispatch)."""
    stack: list[cst.CSTNode] = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(child_nodes(node, _child_fields(type(node))))


_BINDS_TARGET = frozenset({cst.AnnAssign, cst.AugAssign, cst.For, cst.NamedExpr, cst.AssignTarget})


def _bound_names(node: cst.CSTNode) -> set[str]:
    """Names bound by assignment, import, def, class, for, with, except, params in ``node``."""
    names: set[str] = set()
    for n in _nodes_in(node):
        t = type(n)
        if t in _BINDS_TARGET:
            names.update(_target_names(n.target))  # type: ignore[attr-defined]
        elif t is cst.AsName:
            names.update(_target_names(n.name))  # type: ignore[attr-defined]
        elif t is cst.Param or t is cst.FunctionDef or t is cst.ClassDef:
            names.add(n.name.value)  # type: ignore[attr-defined]
        elif t is cst.ImportAlias and n.asname is None:  # type: ignore[attr-defined]
            dotted = _dotted(n.name)  # type: ignore[attr-defined]
            if dotted:
                names.add(dotted.split(".")[0])
    return names


def _target_names(target: cst.BaseExpression) -> set[str]:
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        out: set[str] = set()
        for el in target.elements:
            out |= _target_names(el.value)
        return out
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    return set()


@dataclass
class _Plan:
    """What one pass will do to one module."""

    calls: dict[cst.Call, tuple[str, Finding]] = field(default_factory=dict)  # node -> (kind, finding)
    defs: dict[cst.FunctionDef, Finding] = field(default_factory=dict)
    refusals: list[tuple[Finding, str]] = field(default_factory=list)
    needs_asyncio: bool = False

    @property
    def empty(self) -> bool:
        return not self.calls and not self.defs


@dataclass
class Applied:
    finding: Finding
    description: str


@dataclass
class FileFix:
    path: str
    original: bytes = b""
    fixed: bytes | None = None
    applied: list[Applied] = field(default_factory=list)
    # Findings still there after fixing, each with the reason it was left alone.
    remaining: list[tuple[Finding, str]] = field(default_factory=list)
    error: str | None = None
    internal: bool = False
    diff: str = ""

    @property
    def changed(self) -> bool:
        return self.fixed is not None and self.fixed != self.original


@dataclass
class FixReport:
    files: list[FileFix] = field(default_factory=list)

    @property
    def changed_files(self) -> list[FileFix]:
        return [f for f in self.files if f.changed]

    @property
    def remaining(self) -> int:
        return sum(len(f.remaining) for f in self.files)

    @property
    def errors(self) -> list[FileFix]:
        return [f for f in self.files if f.error]

    @property
    def internal_errors(self) -> list[FileFix]:
        return [f for f in self.files if f.error and f.internal]

    def lines(self, style: Any = None, *, diff: bool = False) -> list[str]:
        out: list[str] = []
        verb = "would fix" if diff else "fixed"
        for f in self.files:
            for a in f.applied:
                out.append(f"{f.path}:{a.finding.line}:{a.finding.col + 1}: {verb} {a.finding.code}: {a.description}")
            for finding, reason in f.remaining:
                out.append(f"{f.path}:{finding.line}:{finding.col + 1}: {finding.code} left as is: {reason}")
            if f.error:
                out.append(f"{f.path}: error: {f.error}")
        n_fixed = sum(len(f.applied) for f in self.files)
        n_files = len(self.changed_files)
        head = "Would fix" if diff else "Fixed"
        summary = f"{head} {_plural(n_fixed, 'problem')} in {_plural(n_files, 'file')}"
        if self.remaining:
            summary += f"; {self.remaining} left for a person (reasons above)"
        if self.errors:
            summary += f"; {len(self.errors)} file{'s' if len(self.errors) != 1 else ''} not fixed (errors above)"
        out.append(summary + ".")
        return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


# --- planning -------------------------------------------------------------------------------


class _ModuleFacts:
    def __init__(self, module: cst.Module) -> None:
        self.module = module
        collector = _Parents(module)
        self.parent = collector.parent
        self.awaited_attrs = collector.awaited
        self.asyncio_name = self._find_asyncio_import()
        self._fn_bound: dict[cst.FunctionDef, set[str]] = {}
        self._fn_files: dict[cst.FunctionDef, set[str]] = {}

    def _find_asyncio_import(self) -> str | None:
        for stmt in self.module.body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Import):
                        for alias in small.names:
                            if _dotted(alias.name) == "asyncio":
                                if alias.asname is None:
                                    return "asyncio"
                                if isinstance(alias.asname.name, cst.Name):
                                    return alias.asname.name.value
        return None

    @functools.cached_property
    def module_bound(self) -> set[str]:
        # Only asked when asyncio is not imported and a rewrite needs it: a whole extra pass.
        return _bound_names(self.module)

    def enclosing(self, node: cst.CSTNode) -> tuple[cst.FunctionDef | None, str | None]:
        """(the coroutine the node runs in, None) or (None, reason it cannot be awaited there)."""
        current = node
        while current in self.parent:
            current = self.parent[current]
            if isinstance(current, cst.Lambda):
                return None, "inside a lambda, where it cannot be awaited"
            if isinstance(current, _COMPREHENSIONS):
                return None, "inside a comprehension: move it into a loop, then offload it"
            if isinstance(current, cst.FunctionDef):
                if current.asynchronous is None:
                    return None, "inside a plain def: offload the call to that function instead"
                return current, None
            if isinstance(current, (cst.ClassDef, cst.Module)):
                break
        return None, "not inside a coroutine"

    def fn_bound(self, fn: cst.FunctionDef) -> set[str]:
        if fn not in self._fn_bound:
            self._fn_bound[fn] = _bound_names(fn)
        return self._fn_bound[fn]

    def file_objects(self, fn: cst.FunctionDef) -> set[str]:
        """Names bound to a file object opened in ``fn`` (``with open(p) as fh``, ``fh = open(p)``)."""
        if fn in self._fn_files:
            return self._fn_files[fn]
        found: set[str] = set()
        for n in _nodes_in(fn.body):
            if type(n) is cst.WithItem:
                if n.asname is not None and _opens_file(n.item):
                    found.update(_target_names(n.asname.name))
            elif type(n) is cst.Assign and _opens_file(n.value):
                for t in n.targets:
                    found.update(_target_names(t.target))
        self._fn_files[fn] = found
        return found


def _opens_file(expr: cst.BaseExpression) -> bool:
    if not isinstance(expr, cst.Call):
        return False
    name = _dotted(expr.func) or ""
    if name in FILE_OPENERS or name.split(".")[-1] == "open":
        return True
    return isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "open"


def _usage_refusal(node: cst.Call, facts: _ModuleFacts) -> str | None:
    parent = facts.parent.get(node)
    if isinstance(parent, cst.WithItem) and parent.item is node:
        return ("used as a context manager: move the whole with-block into a sync helper and "
                "await asyncio.to_thread(helper, ...)")
    if isinstance(parent, (cst.For, cst.CompFor)) and parent.iter is node:
        return ("used as an iterator: every step of the loop would still block; collect the items in a sync "
                "helper run with asyncio.to_thread")
    return None


def _plan(module: cst.Module, findings: Sequence[Finding], facts: _ModuleFacts) -> _Plan:
    plan = _Plan()
    seen: set[int] = set()
    # A step turned into a def takes every finding inside it along: handle those first. When
    # every blocking call in the step has an async twin, awaiting the twins is the better fix
    # (the step stays on the loop, without a thread), and then the step awaits.
    for f in findings:
        if f.code == "WFA401":
            inner = [g for g in findings if g is not f and g.node is not None and _inside(g.node, f.node, facts)]
            if inner and all(_has_twin(g, facts) for g in inner):
                continue
            reason = _plan_def(f, facts)
            if reason:
                plan.refusals.append((f, reason))
            else:
                plan.defs[f.node] = f
    # Unwrapping ``to_thread(f(x))`` fixes the inner call too: plan those before the rest.
    ordered = sorted((f for f in findings if f.code != "WFA401"), key=lambda f: f.code != "WFA301")
    for f in ordered:
        if f.node is None:
            plan.refusals.append((f, "the analyzer gave no location to rewrite"))
            continue
        if id(f.node) in seen:
            continue
        seen.add(id(f.node))
        if any(_inside(f.node, d, facts) for d in plan.defs):
            continue
        if f.code == "WFA301":
            reason = _plan_unwrap(f, facts, plan)
            if reason is None:
                seen.update(id(n) for n in _unwrapped_inner(f.node, facts))
        elif f.code in OFFLOADABLE:
            reason = _plan_offload(f, facts, plan)
        else:
            reason = f"no automatic rewrite for {f.code}: {f.advice or 'see wfasync explain ' + f.code}"
        if reason:
            plan.refusals.append((f, reason))
    return plan


def _unwrapped_inner(node: cst.CSTNode, facts: _ModuleFacts) -> list[cst.CSTNode]:
    """The node and the inner call of a planned unwrap (both are settled by it)."""
    out = [node]
    if isinstance(node, cst.Call):
        kind = _offloader(node)
        if kind is not None and len(node.args) > kind[1]:
            out.append(node.args[kind[1]].value)
        else:
            arg = facts.parent.get(node)
            outer = facts.parent.get(arg) if isinstance(arg, cst.Arg) else None
            if outer is not None:
                out.append(outer)
    return out


def _has_twin(f: Finding, facts: _ModuleFacts) -> bool:
    if f.code not in OFFLOADABLE or not isinstance(f.node, cst.Call):
        return False
    scratch = _Plan()
    return _plan_offload(f, facts, scratch) is None and scratch.calls[f.node][0].startswith("twin")


def _inside(node: cst.CSTNode, ancestor: cst.CSTNode, facts: _ModuleFacts) -> bool:
    current = node
    while current in facts.parent:
        current = facts.parent[current]
        if current is ancestor:
            return True
    return False


def _plan_def(f: Finding, facts: _ModuleFacts) -> str | None:
    fn = f.node
    if not isinstance(fn, cst.FunctionDef) or fn.asynchronous is None:
        return "the analyzer gave no async def to rewrite"

    awaits: list[str] = []

    class Find(cst.CSTVisitor):
        def visit_FunctionDef(self, n: cst.FunctionDef) -> bool:
            return n is fn  # nested functions are their own business

        def visit_Lambda(self, n: cst.Lambda) -> bool:
            return False

        def visit_Await(self, n: cst.Await) -> None:
            awaits.append("await")

        def visit_Yield(self, n: cst.Yield) -> None:
            awaits.append("yield")

        def visit_For(self, n: cst.For) -> None:
            if n.asynchronous is not None:
                awaits.append("async for")

        def visit_With(self, n: cst.With) -> None:
            if n.asynchronous is not None:
                awaits.append("async with")

        def visit_CompFor(self, n: cst.CompFor) -> None:
            if n.asynchronous is not None:
                awaits.append("async for")

    fn.visit(Find())
    if awaits:
        return f"it uses {awaits[0]}, so it must stay a coroutine: offload its blocking calls instead"
    if fn.name.value in facts.awaited_attrs:
        return f"{fn.name.value}() is awaited elsewhere in this module; a plain def would break that await"
    return None


def _plan_offload(f: Finding, facts: _ModuleFacts, plan: _Plan) -> str | None:
    node = f.node
    if not isinstance(node, cst.Call):
        return "the analyzer gave no call to rewrite"
    fn, reason = facts.enclosing(node)
    if fn is None:
        return reason
    reason = _usage_refusal(node, facts)
    if reason:
        return reason
    qualname = f.qualname or ""
    if qualname in FILE_OPENERS or _opens_file(node):
        return ("returns a file object whose reads and writes would still block: put the file work in a "
                "sync helper and await asyncio.to_thread(helper, ...), or use aiofiles")
    if qualname.startswith(THREAD_BOUND_PREFIXES):
        return ("sqlite3 objects may only be used in the thread that made them: put the database work in "
                "one sync helper and await asyncio.to_thread(helper, ...), or use aiosqlite")
    func = node.func
    receiver = func.value if isinstance(func, cst.Attribute) else None
    if isinstance(receiver, cst.Name) and receiver.value in facts.file_objects(fn):
        return (f"a method of the file object {func.value.value!r} opened in this coroutine: move the open and "
                "every read/write into a sync helper and await asyncio.to_thread(helper, ...)")
    twin = f.twin or ""
    drop_in = DROP_IN_TWINS.get(qualname) or (twin if twin.startswith("asyncio.") and qualname in DROP_IN_TWINS else "")
    if drop_in:
        if not _asyncio_usable(fn, facts):
            return "the name 'asyncio' means something else here"
        plan.calls[node] = ("twin-function", f)
        plan.needs_asyncio = True
        return None
    method_twin = f.code == "WFA110" and twin.isidentifier()
    if method_twin and isinstance(func, cst.Attribute) and func.attr.value != twin:
        plan.calls[node] = ("twin-method", f)
        return None
    if not _asyncio_usable(fn, facts):
        return "the name 'asyncio' means something else here"
    plan.calls[node] = ("to_thread", f)
    plan.needs_asyncio = True
    return None


def _asyncio_usable(fn: cst.FunctionDef, facts: _ModuleFacts) -> bool:
    name = facts.asyncio_name or "asyncio"
    if name in facts.fn_bound(fn):
        return False
    if facts.asyncio_name is None and "asyncio" in facts.module_bound:
        return False  # bound to something other than the module (``from x import asyncio``)
    return True


def _offloader(call: cst.Call) -> tuple[str, int] | None:
    """(kind, index of the callable argument) for to_thread / run_in_executor / run_sync."""
    name = _dotted(call.func) or (call.func.attr.value if isinstance(call.func, cst.Attribute) else "")
    last = name.split(".")[-1] if name else ""
    if last in OFFLOADERS_WITH_KWARGS:
        return last, 0
    if last in OFFLOADERS_POSITIONAL:
        return last, OFFLOADERS_POSITIONAL[last]
    return None


def _plan_unwrap(f: Finding, facts: _ModuleFacts, plan: _Plan) -> str | None:
    node = f.node
    if not isinstance(node, cst.Call):
        return "the analyzer gave no call to rewrite"
    outer: cst.Call | None = None
    if _offloader(node) is not None:
        outer = node
    else:
        arg = facts.parent.get(node)
        maybe = facts.parent.get(arg) if isinstance(arg, cst.Arg) else None
        if isinstance(maybe, cst.Call) and _offloader(maybe) is not None:
            outer = maybe
    if outer is None:
        return "could not find the offloading call around it"
    kind, index = _offloader(outer)  # type: ignore[misc]
    positional = [a for a in outer.args if a.keyword is None and not a.star]
    if len(outer.args) != index + 1 or len(positional) != index + 1:
        return "the offloading call has other arguments: pass the callable and its arguments by hand"
    inner = outer.args[index].value
    if not isinstance(inner, cst.Call):
        return "the offloaded argument is not a call"
    if kind not in OFFLOADERS_WITH_KWARGS and any(a.keyword is not None or a.star == "**" for a in inner.args):
        return (f"{kind} passes no keyword arguments: wrap the call in functools.partial(f, ...) and pass that")
    if outer in plan.calls:
        return None
    plan.calls[outer] = ("unwrap", f)
    return None


# --- rewriting ------------------------------------------------------------------------------


def _needs_parens(node: cst.Call, facts: _ModuleFacts) -> bool:
    parent = facts.parent.get(node)
    if isinstance(parent, cst.Attribute) and parent.value is node:
        return True
    if isinstance(parent, cst.Subscript) and parent.value is node:
        return True
    if isinstance(parent, cst.Call) and parent.func is node:
        return True
    return isinstance(parent, cst.Await)


def _describe(node: cst.CSTNode, module: cst.Module, limit: int = 60) -> str:
    text = " ".join(_without_comments(module.code_for_node(node)).split()).replace("( ", "(").replace(", )", ")")
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Rewriter(cst.CSTTransformer):
    def __init__(self, plan: _Plan, facts: _ModuleFacts, module: cst.Module) -> None:
        self.plan = plan
        self.facts = facts
        self.module = module
        self.asyncio = facts.asyncio_name or "asyncio"
        self.applied: list[Applied] = []

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        f = self.plan.defs.get(original)
        if f is None:
            return updated
        name = original.name.value
        self.applied.append(Applied(f, f"async def {name} -> def {name} (the runtime runs it in a thread)"))
        return updated.with_changes(asynchronous=None)

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        entry = self.plan.calls.get(original)
        if entry is None:
            return updated
        kind, f = entry
        before = _describe(original, self.module)
        if kind == "unwrap":
            new: cst.BaseExpression = self._unwrap(original, updated)
            self.applied.append(Applied(f, f"{before} -> {_describe(new, self.module)}"))
            return new
        if kind == "twin-function":
            twin = DROP_IN_TWINS.get(f.qualname or "", f.twin or "asyncio.sleep")
            attr = twin.split(".", 1)[1]
            call = updated.with_changes(func=cst.Attribute(cst.Name(self.asyncio), cst.Name(attr)))
        elif kind == "twin-method":
            assert isinstance(updated.func, cst.Attribute)
            call = updated.with_changes(func=updated.func.with_changes(attr=cst.Name(f.twin or "")))
        else:
            call = self._to_thread(updated)
        parens = _needs_parens(original, self.facts)
        awaited = cst.Await(
            expression=call,
            lpar=[cst.LeftParen()] if parens else [],
            rpar=[cst.RightParen()] if parens else [],
        )
        self.applied.append(Applied(f, f"{before} -> {_describe(awaited, self.module)}"))
        return awaited.with_changes(lpar=list(original.lpar) + list(awaited.lpar),
                                    rpar=list(awaited.rpar) + list(original.rpar)) if original.lpar else awaited

    def _to_thread(self, call: cst.Call) -> cst.Call:
        func = call.func.with_changes(lpar=[], rpar=[]) if not _needs_own_parens(call.func) else call.func
        # A call laid out one argument per line keeps that layout with the callable first.
        spacing = call.whitespace_before_args
        after: cst.BaseParenthesizableWhitespace = (
            spacing if isinstance(spacing, cst.ParenthesizedWhitespace) else cst.SimpleWhitespace(" ")
        )
        first = cst.Arg(
            value=func,
            comma=cst.Comma(whitespace_after=after) if call.args else cst.MaybeSentinel.DEFAULT,
        )
        return cst.Call(
            func=cst.Attribute(cst.Name(self.asyncio), cst.Name("to_thread")),
            args=[first, *call.args],
            whitespace_before_args=call.whitespace_before_args,
            whitespace_after_func=call.whitespace_after_func,
        )

    def _unwrap(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        kind, index = _offloader(original)  # type: ignore[misc]
        inner = updated.args[index].value
        assert isinstance(inner, cst.Call)
        outer_arg = updated.args[index]
        callable_arg = cst.Arg(
            value=inner.func,
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")) if inner.args else outer_arg.comma,
        )
        inner_args = list(inner.args)
        if inner_args:
            last = inner_args[-1]
            inner_args[-1] = last.with_changes(comma=outer_arg.comma)
        return updated.with_changes(args=[*updated.args[:index], callable_arg, *inner_args])


def _without_comments(code: str) -> str:
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.type != tokenize.COMMENT]
        return tokenize.untokenize(tokens)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return code


def _needs_own_parens(expr: cst.BaseExpression) -> bool:
    simple = (cst.Name, cst.Attribute, cst.Call, cst.Subscript)
    return bool(getattr(expr, "lpar", None)) and not isinstance(expr, simple)


def _is_docstring(stmt: cst.BaseStatement) -> bool:
    return (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr)
            and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString)))


def _import_of(stmt: cst.BaseStatement) -> cst.Import | cst.ImportFrom | None:
    if (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
            and isinstance(stmt.body[0], (cst.Import, cst.ImportFrom))):
        return stmt.body[0]
    return None


def _is_future(stmt: cst.BaseStatement) -> bool:
    imp = _import_of(stmt)
    return isinstance(imp, cst.ImportFrom) and imp.module is not None and _dotted(imp.module) == "__future__"


def _add_import_asyncio(module: cst.Module) -> cst.Module:
    """``import asyncio`` among the first imports (in sorted place within their first group),
    else after the docstring and ``__future__`` imports."""
    body = list(module.body)
    position = 0
    if body and _is_docstring(body[0]):
        position = 1
    while position < len(body) and _is_future(body[position]):
        position += 1
    new_stmt = cst.SimpleStatementLine(body=[cst.Import(names=[cst.ImportAlias(name=cst.Name("asyncio"))])])
    if position < len(body) and _import_of(body[position]) is not None:
        # Skip plain imports of the same group (no blank line between) that sort before asyncio.
        first = position
        while position < len(body):
            imp = _import_of(body[position])
            if not isinstance(imp, cst.Import) or (position > first and body[position].leading_lines):
                break
            if (_dotted(imp.names[0].name) or "") >= "asyncio":
                break
            position += 1
        following = body[position] if position < len(body) else None
        if following is not None and _import_of(following) is not None and position == first:
            # Comments above the first import stay above the block, now headed by asyncio.
            new_stmt = new_stmt.with_changes(leading_lines=following.leading_lines)
            body[position] = following.with_changes(leading_lines=[])
    elif position > 0:
        new_stmt = new_stmt.with_changes(leading_lines=[cst.EmptyLine()])
        if position < len(body) and not body[position].leading_lines:
            body[position] = body[position].with_changes(leading_lines=[cst.EmptyLine()])
    elif body:
        if not body[0].leading_lines:
            body[0] = body[0].with_changes(leading_lines=[cst.EmptyLine()])
    body.insert(position, new_stmt)
    return module.with_changes(body=body)


# --- one file -------------------------------------------------------------------------------


class FixError(Exception):
    pass


def _analyze(module: cst.Module, path: str, config: Config, index: Any) -> list[Finding]:
    from .analyzer import analyze_module

    if index is None:
        return list(analyze_module(module, path, config))
    return list(analyze_module(module, path, config, index=index))  # type: ignore[call-arg]


def _relevant(findings: Iterable[Finding], module: cst.Module, config: Config) -> list[Finding]:
    findings = list(findings)
    if not findings:
        return []
    lines = source_lines(module.code)  # code generation costs about a parse: only when needed
    out = []
    for f in findings:
        if not config.code_enabled(f.code):
            continue
        text = lines[f.line - 1] if 0 < f.line <= len(lines) else ""
        if suppressed(f.code, text):
            continue
        out.append(f)
    return out


def _signature(findings: Iterable[Finding]) -> Counter[tuple[str, str]]:
    return Counter((f.code, f.qualname or "") for f in findings)


def fix_module(
    module: cst.Module, path: str, config: Config, index: Any = None
) -> tuple[cst.Module, list[Applied], list[tuple[Finding, str]], list[Finding]]:
    """Fix passes until nothing more changes. Returns the module, what was applied, the
    refusals of the last pass and the findings left."""
    acfg = analysis_config(config)
    applied: list[Applied] = []
    findings = _relevant(_analyze(module, path, acfg, index), module, config)
    refusals: list[tuple[Finding, str]] = []
    for _ in range(MAX_PASSES):
        facts = _ModuleFacts(module)
        plan = _plan(module, findings, facts)
        refusals = plan.refusals
        if plan.empty:
            return module, applied, refusals, findings
        rewriter = _Rewriter(plan, facts, module)
        new_module = module.visit(rewriter)
        if plan.needs_asyncio and facts.asyncio_name is None:
            new_module = _add_import_asyncio(new_module)
        new_code = new_module.code
        try:
            reparsed = cst.parse_module(new_module.bytes)
            with warnings.catch_warnings():
                # SyntaxWarnings about the user's own code (``x is 1``) are not ours to print.
                warnings.simplefilter("ignore")
                compile(new_code, path, "exec", dont_inherit=True)
        except (cst.ParserSyntaxError, SyntaxError, ValueError) as exc:
            detail = " ".join(str(exc).split())[:120]
            raise FixError(f"a rewrite would not compile ({detail}); file left unchanged") from None
        new_findings = _relevant(_analyze(reparsed, path, acfg, index), reparsed, config)
        before, after = _signature(findings), _signature(new_findings)
        gained = after - before
        if gained:
            what = ", ".join(f"{code} {name}".strip() for code, name in sorted(gained))
            raise FixError(f"a rewrite would add findings ({what}); file left unchanged")
        applied.extend(rewriter.applied)
        module, findings = reparsed, new_findings
    facts = _ModuleFacts(module)
    if not _plan(module, findings, facts).empty:
        raise FixError(f"rewrites did not settle after {MAX_PASSES} passes; file left unchanged")
    return module, applied, _plan(module, findings, facts).refusals, findings


def fixable_findings(text: str, path: str, config: Config, index: Any = None) -> set[tuple[str, int, int]]:
    """(code, line, col) of the findings in ``text`` that one fix pass rewrites, the findings
    inside a step it turns into a def included."""
    module = cst.parse_module(text)
    findings = _relevant(_analyze(module, path, analysis_config(config), index), module, config)
    return fixable_in(module, findings)


def fixable_in(module: cst.Module, findings: list[Finding]) -> set[tuple[str, int, int]]:
    """(code, line, col) of ``findings``, made on ``module``, that one fix pass rewrites: the
    plan of a pass, without parsing or analysing again (what ``wfasync check`` marks [*])."""
    facts = _ModuleFacts(module)
    plan = _plan(module, findings, facts)
    planned = [f for _, f in plan.calls.values()] + list(plan.defs.values())
    settled = {id(f.node) for f in planned}
    for f in findings:
        if f.node is not None and any(_inside(f.node, d, facts) for d in plan.defs):
            planned.append(f)
        elif f.code != "WFA301" and id(f.node) in settled:
            planned.append(f)
    return {(f.code, f.line, f.col) for f in planned}


def _reasons(refusals: Sequence[tuple[Finding, str]], code: str) -> dict[tuple[str, str, str], str]:
    lines = source_lines(code)
    out = {}
    for f, reason in refusals:
        text = lines[f.line - 1].strip() if 0 < f.line <= len(lines) else ""
        out[(f.code, f.qualname or "", text)] = reason
    return out


def _worth_parsing(data: bytes, path: str, config: Config, index: Any) -> bool:
    """The analyzer's cheap pre-check (with the project index, so that a call into a blocking
    helper of another module counts): a file without a coroutine that might block has nothing
    to fix. A file that does not decode or parse passes, so that its error is reported."""
    from .analyzer import decode_source, might_block_tree
    from .precheck import parse_quietly

    try:
        text = decode_source(data)
        if "async" not in text:
            return False
        tree = parse_quietly(text)
        return bool(might_block_tree(tree, text, analysis_config(config), index, path))
    except Exception:  # noqa: BLE001 - the full parse below reports what is wrong
        return True


def fix_file(path: Path, config: Config, *, write: bool, index: Any = None) -> FileFix:
    shown = str(path)
    result = FileFix(path=shown)
    try:
        data = path.read_bytes()
    except OSError as exc:
        result.error = f"cannot read: {exc.strerror or exc}"
        return result
    result.original = data
    if not _worth_parsing(data, shown, config, index):
        result.fixed = data
        return result
    try:
        module = cst.parse_module(data)
    except cst.ParserSyntaxError as exc:
        result.error = f"cannot parse (line {exc.raw_line}): {' '.join(exc.message.split())}"
        return result
    except (ValueError, LookupError, RecursionError) as exc:  # undecodable bytes, unknown encoding
        result.error = f"cannot parse: {' '.join(str(exc).split())[:160]}"
        return result
    try:
        fixed, applied, refusals, remaining = fix_module(module, shown, config, index)
    except FixError as exc:
        result.error = str(exc)
        return result
    except RecursionError:
        result.error = "too deeply nested to fix"
        return result
    except Exception as exc:  # a bug of ours: one line, nothing written
        result.error = f"internal error while fixing: {type(exc).__name__}: {exc}"
        result.internal = True
        return result
    result.applied = [dataclasses.replace(a) for a in applied]
    unchanged = fixed is module  # no pass rewrote anything: no code generation needed
    new_bytes = data if unchanged else fixed.bytes
    result.fixed = new_bytes
    if remaining:
        new_code = module.code if unchanged else fixed.code
        reasons = _reasons(refusals, new_code)
        lines = source_lines(new_code)
        shift = None if (write or unchanged) else _line_shift(module.code, new_code)
        for f in remaining:
            text = lines[f.line - 1].strip() if 0 < f.line <= len(lines) else ""
            reason = reasons.get((f.code, f.qualname or "", text)) or (
                f"no automatic rewrite: {f.advice or 'see wfasync explain ' + f.code}")
            if shift is not None:
                f = dataclasses.replace(f, line=shift(f.line))
            result.remaining.append((dataclasses.replace(f, path=shown), reason))
    if result.changed:
        old_text, new_text = module.code, fixed.code
        result.diff = "".join(
            difflib.unified_diff(old_text.splitlines(keepends=True), new_text.splitlines(keepends=True),
                                 fromfile=f"a/{shown.lstrip('/')}", tofile=f"b/{shown.lstrip('/')}")
        )
        if result.diff and not result.diff.endswith("\n"):
            result.diff += "\n"
        if write:
            try:
                atomic_write(path, new_bytes)
            except OSError as exc:
                result.error = f"cannot write: {exc.strerror or exc}; file left unchanged"
                result.fixed = None
                result.applied = []
    return result


def _line_shift(before: str, after: str) -> Any:
    """Map a line of the fixed text to the original text (only whole inserted lines move lines)."""
    old, new = source_lines(before), source_lines(after)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    mapping: dict[int, int] = {}
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("equal", "replace"):
            for k in range(min(i2 - i1, j2 - j1)):
                mapping[j1 + k + 1] = i1 + k + 1
    return lambda line: mapping.get(line, line)


TEMP_SUFFIX = ".wfasync-tmp"
# mkstemp's names: prefix, eight characters of [a-z0-9_], suffix -> ".NAME.k3j_x9q2.wfasync-tmp".
_TEMP_NAME = re.compile(r"\.(?P<target>.+)\.[a-z0-9_]{8}" + re.escape(TEMP_SUFFIX) + r"\Z", re.DOTALL)
# A live fix holds its temp file for the time of one write; one this old was left by a fix
# that was killed (and one younger may belong to a fix running right now).
STALE_TEMP_SECONDS = 60.0


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step: a temp file in the same folder, then
    os.replace, keeping the file's permissions. A symlink keeps pointing at the new content."""
    target = Path(os.path.realpath(path))
    mode = stat.S_IMODE(target.stat().st_mode)
    replace_file(target, data, suffix=TEMP_SUFFIX, mode=mode, durable=True)


def fix_files(
    files: Sequence[Path], config: Config, *, write: bool, cache_dir: Path | None = None,
    project: Sequence[Path] | None = None,
) -> FixReport:
    """Fix ``files``; the project index covers ``project`` (default: the same files)."""
    from .runner import build_project_index

    index = build_project_index(list(project or files), config, cache_dir) if files else None
    if write:
        remove_stale_temps(files)
    report = FixReport()
    for path in files:
        report.files.append(fix_file(path, config, write=write, index=index))
    return report


def remove_stale_temps(files: Iterable[Path], older_than: float = STALE_TEMP_SECONDS) -> list[Path]:
    """Remove the temp files that a killed fix left next to ``files`` (where atomic_write puts
    them: beside the real file a symlink points to). Only regular files named exactly as
    atomic_write names them for one of ``files`` and untouched for ``older_than`` seconds go;
    what cannot be removed stays, silently. Returns what was removed."""
    targets: dict[str, set[str]] = {}
    for path in files:
        real = os.path.realpath(path)
        targets.setdefault(os.path.dirname(real), set()).add(os.path.basename(real))
    cutoff = time.time() - older_than
    removed: list[Path] = []
    for folder, names in targets.items():
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            m = _TEMP_NAME.match(entry.name)
            if m is None or m.group("target") not in names:
                continue
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                if entry.stat(follow_symlinks=False).st_mtime > cutoff:
                    continue
                os.unlink(entry.path)
            except OSError:
                continue
            removed.append(Path(entry.path))
    return removed
