"""Which sync functions of the project block, directly or further down (WFA201).

Per module: while the analyzer walks a coroutine, every call to a plain (sync) function or
method of the module (``load()``, ``self.helper()``, ``cls.helper()``, ``Class.static()``, a
module-level lambda) is recorded. Once the module's single pass is over, the helpers those
calls reach are walked on demand, each once, with the analyzer's own walker and scopes (no
second parse, no metadata providers): their blocking calls, the helpers they call and, in
project mode, the functions of other project modules they call. A reverse breadth-first search
from the helpers that block gives every helper its shortest chain to a blocking call; cycles
and recursion need nothing special. Nested functions and closures a helper calls are walked
as part of it, as the analyzer does for coroutines.

A helper that only hands work to a thread (``return asyncio.to_thread(fn, x)``) holds no
blocking call, so it does not block; one that evaluates the blocking call first
(``to_thread(fn(x))``) does.

Across modules, :mod:`flake8_wfasync.analysis.project_index` summarises each project module with
:func:`flake8_wfasync.analysis.summaries.summarize` (the same walk over every sync function of
the module, :meth:`ModuleGraph.summarize`) and links the summaries once per run.
"""

from __future__ import annotations

import dataclasses
import os
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import libcst as cst

from ..knowledge.findings import Chain
from ..knowledge.rules import RULES, SITE_CODES
from .context import FunctionContext, RawFinding
from .positions import Positions
from .resolve import LocalDef, Scope, bind_params, collect_bindings

if TYPE_CHECKING:
    from .walker import Walker

__all__ = ["ModuleGraph", "chain_text"]

Owner = cst.FunctionDef | None  # the def a call is in, for its position (None: module level)


def chain_text(chain: Chain, module: str, path: str) -> str:
    """``load() -> read_rows() -> open (db.py:12)``, names relative to the module reading it."""
    parts = [f"{name}()" if mod == module or not mod else f"{mod}.{name}()" for mod, name in chain.steps]
    where = os.path.basename(chain.path) if _same_file(chain.path, path) else chain.path
    parts.append(f"{chain.call} ({where}:{chain.line})")
    return " -> ".join(parts)


def _same_file(a: str, b: str) -> bool:
    return a == b or os.path.abspath(a) == os.path.abspath(b)


@dataclass(eq=False)
class _Node:
    """One sync function of the module, walked at most once."""

    fn: cst.FunctionDef | cst.Lambda
    name: str
    ctx: FunctionContext | None = None
    callees: list[tuple[cst.Call, LocalDef]] = field(default_factory=list)
    externals: list[tuple[cst.Call, str, Owner]] = field(default_factory=list)
    # The blocking call that makes it block without help from other functions of the module.
    site: Chain | None = None
    via: _Node | None = None
    chain: Chain | None = None


def _display(d: LocalDef) -> str:
    if d.cls is not None:
        return f"{d.cls.name}.{d.name}"
    return d.name


class ModuleGraph:
    """The call graph of one module, built on demand during one analysis."""

    def __init__(self, analyzer: Walker) -> None:
        self.an = analyzer
        self.nodes: dict[int, _Node] = {}
        self.by_ctx: dict[int, _Node] = {}
        # (coroutine ctx, call, callee, owner of the call) waiting for the end of the pass.
        self.pending: list[tuple[FunctionContext, cst.Call, LocalDef, Owner]] = []
        self.pending_ext: list[tuple[FunctionContext, cst.Call, str, Owner]] = []
        self._positions: Positions | None = None
        self.module_name = ""
        index = analyzer.index
        if index is not None:
            self.module_name = index.module_of(analyzer.path) or ""

    # -- recording, during the pass ------------------------------------------------------------

    def local_call(self, ctx: FunctionContext, call: cst.Call, target: LocalDef, owner: Owner) -> None:
        if type(target.node) is cst.Lambda and type(call.func) is cst.Name:
            target = dataclasses.replace(target, name=call.func.value)  # the name it is called by
        node = self.by_ctx.get(id(ctx))
        if node is not None:
            node.callees.append((call, target))
        else:
            self.pending.append((ctx, call, target, owner))

    def external_call(self, ctx: FunctionContext, call: cst.Call, qualname: str, owner: Owner) -> None:
        node = self.by_ctx.get(id(ctx))
        if node is not None:
            node.externals.append((call, qualname, owner))
        else:
            self.pending_ext.append((ctx, call, qualname, owner))

    # -- after the pass ------------------------------------------------------------------------

    def resolve(self) -> None:
        """Walk the helpers the coroutines call, chain them, and report WFA201."""
        if not self.pending and not self.pending_ext:
            return
        self._explore([t for _, _, t, _ in self.pending])
        self._link()
        an = self.an
        touched: dict[int, FunctionContext] = {}
        for ctx, call, target, owner in self.pending:
            node = self.nodes.get(id(target.node))
            if node is None or node.chain is None:
                continue
            chain = node.chain
            self._report(ctx, call, owner, _display(target), chain)
            touched[id(ctx)] = ctx
        index = an.index
        for ctx, call, q, owner in self.pending_ext:
            chain = index.chain(q) if index is not None else None
            if chain is None:
                continue
            mod, name = chain.steps[0]
            self._report(ctx, call, owner, f"{mod}.{name}" if mod else name, chain)
            touched[id(ctx)] = ctx
        # A step that never awaits and blocks only through helpers is a WFA401 too.
        for ctx in touched.values():
            if ctx.step and not ctx.has_await and not any(r.code == "WFA401" for r in ctx.raws):
                an.never_awaits(ctx)

    def _report(self, ctx: FunctionContext, call: cst.Call, owner: Owner, display: str, chain: Chain) -> None:
        an = self.an
        fix, _ = an.fix_for(call, display, "WFA201", None, ctx)
        text = chain_text(chain, self.module_name, an.path)
        msg = RULES["WFA201"].message.format(call=an.call_text(call), where=ctx.where, chain=text, fix=fix)
        an.add(ctx, "WFA201", call, owner, msg, display, fix, None)

    def _explore(self, roots: Sequence[LocalDef]) -> None:
        todo = list(roots)
        while todo:
            d = todo.pop()
            if id(d.node) in self.nodes:
                continue
            node = self._walk(d)
            for _, callee in node.callees:
                if id(callee.node) not in self.nodes:
                    todo.append(callee)

    def _walk(self, d: LocalDef) -> _Node:
        an = self.an
        node = _Node(d.node, _display(d))
        self.nodes[id(d.node)] = node
        fn = d.node
        where = an.defs.get(id(fn))
        if type(fn) is cst.FunctionDef:
            if where is None:
                return node  # defined somewhere the pass does not reach: unknown, not blocking
            _, outer, cls = where
            scope = Scope("function", outer, fn)
            bind_params(fn, scope, outer, cls)
            body = fn.body.body
            collect_bindings(body, scope)
            ctx = FunctionContext(fn, d.name, cls, False)
            node.ctx = ctx
            self.by_ctx[id(ctx)] = node
            for stmt in body:
                an.walk(stmt, scope, ctx, fn)
        else:  # a module-level lambda
            outer = where[1] if where is not None else an.module_scope
            if outer is None:
                return node
            scope = Scope("function", outer, None)
            bind_params(fn, scope, outer)
            ctx = FunctionContext(None, d.name, None, False)
            node.ctx = ctx
            self.by_ctx[id(ctx)] = node
            an.walk(fn.body, scope, ctx, None)
        site = self._first_site(ctx.raws)
        if site is not None:
            node.site = site
        return node

    def _first_site(self, raws: list[RawFinding]) -> Chain | None:
        best: tuple[tuple[int, int], Chain] | None = None
        for r in raws:
            if r.code not in SITE_CODES or r.qualname is None:
                continue
            line, col, _, _ = self._pos(r.pos_node, r.owner)
            if best is None or (line, col) < best[0]:
                best = ((line, col), Chain((), r.qualname or r.code, self.an.path, line))
        return best[1] if best is not None else None

    def _pos(self, node: cst.CSTNode, owner: Owner) -> tuple[int, int, int, int]:
        if self._positions is None:
            self._positions = Positions(self.an.module, self.an.tree)
        return self._positions.of(node, owner)

    def _link(self) -> None:
        """Shortest chains: a reverse breadth-first search from the helpers that block."""
        index = self.an.index
        callers: dict[int, list[_Node]] = {}
        queue: deque[_Node] = deque()
        for node in self.nodes.values():
            for _, callee in node.callees:
                callers.setdefault(id(callee.node), []).append(node)
            if node.site is None and index is not None:
                for _call, q, _owner in node.externals:
                    ext = index.chain(q)
                    if ext is not None:
                        node.site = ext
                        break
            if node.site is not None:
                node.chain = node.site.prepend(self.module_name, node.name)
                queue.append(node)
        while queue:
            node = queue.popleft()
            assert node.chain is not None
            for caller in callers.get(id(node.fn), ()):
                if caller.chain is None:
                    caller.via = node
                    caller.chain = node.chain.prepend(self.module_name, caller.name)
                    queue.append(caller)

    # -- the summary of a module for the project index -----------------------------------------

    def summarize(self) -> dict[str, Any]:
        """Every sync function and method of the module: its first blocking call, the functions
        of the module it calls and the project names it calls elsewhere."""
        an = self.an
        roots: list[LocalDef] = []
        for fn, outer, cls in an.defs.values():
            if fn.asynchronous is not None or outer.kind == "function":
                continue
            roots.append(LocalDef(fn, fn.name.value, False, cls))
        self._explore(roots)
        funcs: dict[str, Any] = {}
        for node in self.nodes.values():
            if type(node.fn) is not cst.FunctionDef:
                continue
            entry: dict[str, Any] = {}
            if node.site is not None:
                entry["site"] = [node.site.call, node.site.line]
            calls = sorted({_display(c) for _, c in node.callees if id(c.node) in self.nodes})
            if calls:
                entry["calls"] = calls
            ext = sorted({q for _, q, _ in node.externals})
            if ext:
                entry["ext"] = ext
            funcs[node.name] = entry
        return funcs
