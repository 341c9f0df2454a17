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

Across modules, :mod:`flake8_wfasync.project_index` summarises each project module with
:func:`summarize` (the same walk over every sync function of the module) and links the
summaries once per run.
"""

from __future__ import annotations

import ast
import dataclasses
import os
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import libcst as cst

from .config import Config
from .findings import Chain
from .precheck import (  # noqa: F401  (re-exported for the index and the tests)
    AstHelpers,
    CoroutineWalk,
    _ast_block,
    _ast_import_names,
    ast_calls_project_blocking,
    ast_nodes,
    ast_project_calls,
    coroutine_calls,
    coroutine_walk,
)
from .resolve import PACKAGE, LocalDef, Scope, bind_params, collect_bindings
from .rules import RULES

if TYPE_CHECKING:
    from .analyzer import _Analyzer, _Ctx, _Raw

__all__ = ["Chain", "ModuleGraph", "build_project_index", "chain_text", "on_external_call",
           "on_local_call", "summarize"]

# Codes that mean "this call blocks" inside a helper. WFA301 counts: to_thread(f(x)) runs f(x)
# right there, before anything is offloaded.
_SITE_CODES = frozenset({
    "WFA101", "WFA102", "WFA103", "WFA104", "WFA105", "WFA106", "WFA107", "WFA108", "WFA109",
    "WFA110", "WFA199", "WFA301",
})


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
    ctx: Any = None
    callees: list[tuple[cst.Call, LocalDef]] = field(default_factory=list)
    externals: list[tuple[cst.Call, str, Any]] = field(default_factory=list)
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

    def __init__(self, analyzer: _Analyzer, summary: bool = False) -> None:
        self.an = analyzer
        self.summary = summary
        self.nodes: dict[int, _Node] = {}
        self.by_ctx: dict[int, _Node] = {}
        # (coroutine ctx, call, callee, owner of the call) waiting for the end of the pass.
        self.pending: list[tuple[_Ctx, cst.Call, LocalDef, Any]] = []
        self.pending_ext: list[tuple[_Ctx, cst.Call, str, Any]] = []
        self._positions: Any = None
        self.module_name = ""
        index = analyzer.index
        if index is not None:
            self.module_name = index.module_of(analyzer.path) or ""

    # -- recording, during the pass ------------------------------------------------------------

    def local_call(self, ctx: _Ctx, call: cst.Call, target: LocalDef, owner: Any) -> None:
        if type(target.node) is cst.Lambda and type(call.func) is cst.Name:
            target = dataclasses.replace(target, name=call.func.value)  # the name it is called by
        node = self.by_ctx.get(id(ctx))
        if node is not None:
            node.callees.append((call, target))
        else:
            self.pending.append((ctx, call, target, owner))

    def external_call(self, ctx: _Ctx, call: cst.Call, qualname: str, owner: Any) -> None:
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
        touched: dict[int, _Ctx] = {}
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
                an._never_awaits(ctx)

    def _report(self, ctx: _Ctx, call: cst.Call, owner: Any, display: str, chain: Chain) -> None:
        an = self.an
        fix, _ = an._fix_for(call, display, "WFA201", None, ctx)
        text = chain_text(chain, self.module_name, an.path)
        msg = RULES["WFA201"].message.format(call=an._text(call), where=ctx.where, chain=text, fix=fix)
        an._add(ctx, "WFA201", call, owner, msg, display, fix, None)

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
        from .analyzer import _Ctx

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
            ctx = _Ctx(fn, d.name, cls, False)
            node.ctx = ctx
            self.by_ctx[id(ctx)] = node
            for stmt in body:
                an._walk(stmt, scope, ctx, fn)
        else:  # a module-level lambda
            outer = where[1] if where is not None else an.module_scope
            if outer is None:
                return node
            scope = Scope("function", outer, None)
            bind_params(fn, scope, outer)
            ctx = _Ctx(None, d.name, None, False)
            node.ctx = ctx
            self.by_ctx[id(ctx)] = node
            an._walk(fn.body, scope, ctx, None)
        site = self._first_site(ctx.raws)
        if site is not None:
            node.site = site
        return node

    def _first_site(self, raws: list[_Raw]) -> Chain | None:
        best: tuple[tuple[int, int], Chain] | None = None
        for r in raws:
            if r.code not in _SITE_CODES or r.qualname is None:
                continue
            line, col, _, _ = self._pos(r.pos_node, r.owner)
            if best is None or (line, col) < best[0]:
                best = ((line, col), Chain((), r.qualname or r.code, self.an.path, line))
        return best[1] if best is not None else None

    def _pos(self, node: cst.CSTNode, owner: Any) -> tuple[int, int, int, int]:
        if self._positions is None:
            from .analyzer import _Positions

            self._positions = _Positions(self.an.module, self.an.tree)
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


def on_local_call(an: _Analyzer, ctx: _Ctx, call: cst.Call, target: LocalDef, owner: Any) -> None:
    graph = an.graph
    if graph is None:
        graph = an.graph = ModuleGraph(an)
    graph.local_call(ctx, call, target, owner)


def on_external_call(an: _Analyzer, ctx: _Ctx, call: cst.Call, q: str, owner: Any) -> None:
    graph = an.graph
    if graph is None:
        graph = an.graph = ModuleGraph(an)
    graph.external_call(ctx, call, q, owner)


def build_project_index(files: Sequence[Path], config: Config, cache_dir: Path | None = None) -> Any:
    """The project index of one ``wfasync check`` run: see :mod:`flake8_wfasync.project_index`."""
    from .project_index import ProjectIndex

    return ProjectIndex.build(files, config, cache_dir=cache_dir)


def summarize(text: str, path: str, config: Config, index: Any, tree: ast.Module | None = None,
              matters: bool = False) -> dict[str, Any]:
    """The call-graph summary of one project module (see :meth:`ModuleGraph.summarize`), plus
    its top-level names bound to project names (re-exports) and the project modules it names.

    ``index.asked(path)``: the functions of the module asked for (``load``, ``Repo.fetch``,
    ``Repo``), or None for all. When the ``ast`` shows that none of them can block by itself,
    the summary says so for them alone (``"partial"``), with no libcst parse: with the project
    names they call as their only edges (``"tentative"``) when they call any. The index asks
    again with ``index.exact(path)`` true when one of those names turns out to block, and
    summarises the whole module when a function it does not cover is asked for.

    ``tree``: the ``ast`` tree of ``text``, when the caller has it; ``matters``: known to
    matter already (a partial summary of it exists), so the whole-module test is skipped."""
    from .analyzer import _Analyzer, _ast_parse, _cst_parse

    if tree is None:
        tree = _ast_parse(text, path)
    if not matters and not _may_matter(tree, config, index, path):
        # Nothing in it can block or reach the project: its re-exports are all that counts.
        return {"funcs": {}, "aliases": _ast_aliases(tree, index, path)}
    asked = getattr(index, "asked", None)
    keys = asked(path) if asked is not None else None
    exact = getattr(index, "exact", None)
    cleared = None
    if keys is not None and not (exact is not None and exact(path)):
        cleared = ast_clears(tree, keys, config, index, path)
    if cleared is not None:
        assert keys is not None
        done, deps = cleared
        summary = {"funcs": {k: {"ext": deps} if deps else {} for k in done},
                   "aliases": _ast_aliases(tree, index, path), "partial": sorted(set(keys))}
        if deps:
            # They block only if one of those project names does; then, and only then, the
            # index asks for this summary again with exact=True, to get the chain right.
            summary["tentative"] = True
        return summary
    module = _cst_parse(text, path)
    keep = getattr(index, "keep_parsed", None)
    if keep is not None:  # the same file may be analysed next: one parse serves both
        keep(path, text, module)
    an = _Analyzer(module, tree, path, config, index=index)
    an.graph = ModuleGraph(an, summary=True)
    # The first half of the analyzer's run: bindings and the one pass over the module.
    scope = Scope("module")
    PACKAGE.set(index.package_of(path))
    collect_bindings(module.body, scope)
    an.module_scope = scope
    an._block(module.body, scope, None)
    funcs = an.graph.summarize()
    aliases = {name: value for name, value in scope.names.items()
               if isinstance(value, str) and index.is_project(value)}
    return {"funcs": funcs, "aliases": aliases}




# --- the analyzer's cheap pre-pass over the ast tree ------------------------------------------

def _may_matter(tree: ast.Module, config: Config, index: Any, path: str) -> bool:
    """Cheap test on the ``ast`` tree: may a sync function of the module block or call a
    project function? The analyzer's own pre-pass answers the first half, with a probe
    coroutine that calls every function and method of the module."""
    from .analyzer import might_block_tree

    calls = [n for n in ast_nodes(tree) if isinstance(n, ast.Call)]
    if ast_project_calls(tree, calls, index, path):
        return True
    probe_calls: list[ast.stmt] = []
    for stmt in _ast_block(tree.body):
        if isinstance(stmt, ast.FunctionDef):
            probe_calls.append(ast.Expr(ast.Call(ast.Name(stmt.name), [], [])))
        elif isinstance(stmt, ast.ClassDef):
            for item in _ast_block(stmt.body):
                if isinstance(item, ast.FunctionDef):
                    probe_calls.append(ast.Expr(ast.Call(ast.Attribute(ast.Name("self"), item.name), [], [])))
    if not probe_calls:
        return False
    probe = ast.AsyncFunctionDef(name="__wfasync_probe__", args=ast.arguments([], [], None, [], [], None, []),
                                 body=probe_calls, decorator_list=[], returns=None, type_params=[])
    return might_block_tree(ast.Module([*tree.body, probe], []), None, config)


def _ast_aliases(tree: ast.Module, index: Any, path: str) -> dict[str, str]:
    return {k: v for k, v in _ast_import_names(tree, index, path).items() if index.is_project(v)}


def _assigned_project_name(tree: ast.Module, name: str, index: Any, path: str) -> bool:
    """Whether a module-level assignment binds ``name`` to a dotted name that may be a project
    one (``load = db.load``): the summary follows such a name as it follows an import."""
    imported: dict[str, str] | None = None
    for stmt in _ast_block(tree.body):
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets, value = [stmt.target], stmt.value
        else:
            continue
        if not any(isinstance(t, ast.Name) and t.id == name for t in targets):
            continue
        parts: list[str] = []
        while isinstance(value, ast.Attribute):
            parts.append(value.attr)
            value = value.value
        if not isinstance(value, ast.Name):
            continue
        if imported is None:
            imported = _ast_import_names(tree, index, path)
        base = imported.get(value.id)
        if base is None or index.is_project(".".join([base, *reversed(parts)])):
            return True  # (a name of the module itself, or of the project: not worth guessing)
    return False


def ast_clears(tree: ast.Module, keys: Sequence[str], config: Config, index: Any,
               path: str) -> tuple[list[str], list[str]] | None:
    """Cheap test on the ``ast`` tree: none of the module's functions ``keys`` (``load``,
    ``Repo.fetch``, ``Repo`` for its ``__init__``) can block by itself, nor anything of the
    module they may call. Returns their summary keys and the project names that they, or
    what they may call, call (they block only if one of those does). The same conservative
    pre-pass as :func:`_may_matter`, narrowed to what those functions reach: a probe coroutine
    calls them, and the project-call side also counts every ``__init__`` and the module-level
    and class-level statements (where attribute and global types come from). None when one
    may block, or when a key is not a plain function or method of the module, a method its
    class does not define (the summary would not know it either), or a name it imports from
    the project."""
    top: dict[str, ast.AST] = {}
    classes: dict[str, ast.ClassDef] = {}
    for stmt in _ast_block(tree.body):
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            top[stmt.name] = stmt
        elif isinstance(stmt, ast.ClassDef):
            classes[stmt.name] = stmt
    aliases = _ast_aliases(tree, index, path)
    defined: dict[str, int] = {}  # every def and class of the module, nested ones too
    for node in ast_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined[node.name] = defined.get(node.name, 0) + 1
    probe_calls: list[ast.stmt] = []
    cleared: list[str] = []
    for key in keys:
        name, _, method = key.partition(".")
        if name in aliases and name not in defined:
            continue  # a re-export: the index follows it to the module that defines it
        if name in classes and defined[name] == 1 and "." not in method:
            has = {i.name for i in _ast_block(classes[name].body) if isinstance(i, ast.FunctionDef)}
            wanted = method or "__init__"
            if wanted not in has:
                if any(isinstance(i, ast.AsyncFunctionDef) and i.name == wanted for i in classes[name].body):
                    return None
                continue  # not a function of the module: the summary would not know it either
            if wanted == "__init__":
                probe_calls.append(ast.Expr(ast.Call(ast.Name(name), [], [])))
            else:
                probe_calls.append(ast.Expr(ast.Call(ast.Attribute(ast.Name("self"), wanted), [], [])))
            cleared.append(f"{name}.{wanted}")
        elif not method and isinstance(top.get(name), ast.FunctionDef) and defined[name] == 1:
            probe_calls.append(ast.Expr(ast.Call(ast.Name(name), [], [])))
            cleared.append(name)
        elif name not in defined and not _assigned_project_name(tree, name, index, path):
            continue  # a variable (``X = Struct(...).pack``): the summary would not know it either
        else:
            return None
    if not probe_calls:
        return cleared, []
    # The module without its own coroutines: only what the probe reaches is looked at.
    body: list[ast.stmt] = []
    loose: list[ast.AST] = []  # statements outside any function: module and class level
    for stmt in tree.body:
        if isinstance(stmt, ast.AsyncFunctionDef):
            continue
        if isinstance(stmt, ast.ClassDef):
            items = [i for i in stmt.body if not isinstance(i, ast.AsyncFunctionDef)]
            body.append(ast.ClassDef(stmt.name, stmt.bases, stmt.keywords, items, stmt.decorator_list,
                                     **({"type_params": stmt.type_params} if hasattr(stmt, "type_params") else {})))
            loose.extend(i for i in items if (isinstance(i, ast.FunctionDef) and i.name == "__init__")
                         or not isinstance(i, (ast.FunctionDef, ast.ClassDef)))
            loose.extend(stmt.bases)
            loose.extend(stmt.decorator_list)
        else:
            body.append(stmt)
            if not isinstance(stmt, ast.FunctionDef):
                loose.append(stmt)
    probe = ast.AsyncFunctionDef(name="__wfasync_probe__", args=ast.arguments([], [], None, [], [], None, []),
                                 body=probe_calls, decorator_list=[], returns=None, type_params=[])
    narrowed = ast.Module([*body, probe], [])
    from .analyzer import might_block_tree

    if might_block_tree(narrowed, None, config):
        return None
    calls = coroutine_calls(narrowed)
    calls += [n for node in loose for n in ast_nodes(node) if isinstance(n, ast.Call)]
    return cleared, sorted(set(ast_project_calls(tree, calls, index, path)))
