"""What a project module holds for the project index: which of its sync functions block, what
they call, and the project names it re-exports.

:func:`summarize` is the first half of an analysis (the one pass, :meth:`Walker.walk_module`)
followed by :meth:`ModuleGraph.summarize`. Most modules need less: the cheap tests on the
``ast`` tree (:func:`may_matter`, :func:`ast_clears`) show that nothing asked of them can block,
and then the summary comes from the ``ast`` alone, without libcst.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import Any

import libcst as cst

from ..config import Config
from ..source import ast_parse, cst_parse
from .precheck import (
    all_statements,
    ast_nodes,
    ast_project_calls,
    ast_statements,
    coroutine_calls,
    import_bindings,
    might_block_tree,
)
from .project_view import ProjectView
from .resolve import INSTANCE, PACKAGE, Scope, SelfRef, collect_bindings, resolve_expr
from .walker import Walker

__all__ = ["ast_clears", "may_matter", "module_values", "summarize", "value_in"]


def summarize(text: str, path: str, config: Config, index: ProjectView, tree: ast.Module | None = None,
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
    if tree is None:
        tree = ast_parse(text, path)
    if not matters and not may_matter(tree, config, index, path):
        # Nothing in it can block or reach the project: its re-exports are all that counts.
        return {"funcs": {}, "aliases": _ast_aliases(tree, index, path)}
    keys = index.asked(path)
    cleared = None
    if keys is not None and not index.exact(path):
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
    module = cst_parse(text, path)
    index.keep_parsed(path, text, module)  # the same file may be analysed next: one parse serves both
    walker = Walker(module, tree, path, config, index=index)
    graph = walker.call_graph()
    scope = walker.walk_module()  # the first half of an analysis: the one pass, no findings
    funcs = graph.summarize()
    aliases = {name: value for name, value in scope.names.items()
               if isinstance(value, str) and index.is_project(value)}
    module_name = index.module_of(path)
    if module_name is not None:
        aliases.update(module_instances(tree, module_name))
    return {"funcs": funcs, "aliases": aliases}




# --- what the module's names hold, for the other modules ------------------------------------

def module_values(text: str, path: str, package: str | None) -> Scope:
    """The module scope of a project module (its bindings, made as the analysis makes them),
    where the other modules' questions about its names are answered."""
    module = cst_parse(text, path)
    scope = Scope("module")
    token = PACKAGE.set(package)
    try:
        collect_bindings(module.body, scope)
    finally:
        PACKAGE.reset(token)
    scope.owner = None
    return scope


def value_in(scope: Scope, module: str, key: str, package: str | None) -> str | None:
    """What ``key`` holds in a module's scope (see :func:`module_values`), as a path."""
    try:
        expr = cst.parse_expression(key)
    except (cst.ParserSyntaxError, ValueError):
        return None
    token = PACKAGE.set(package)
    try:
        v = resolve_expr(expr, scope)
    finally:
        PACKAGE.reset(token)
    if type(v) is SelfRef and v.cls.scope is scope and key.endswith(INSTANCE):
        # A factory of an instance of a class of that module (its methods are project names).
        # (A module-level instance stays a name: its fields are asked for one by one.)
        return f"{module}.{v.cls.name}{INSTANCE}"
    return v if isinstance(v, str) and v.endswith(INSTANCE) else None


# --- the analyzer's cheap pre-pass over the ast tree ------------------------------------------

def may_matter(tree: ast.Module, config: Config, index: ProjectView, path: str) -> bool:
    """Cheap test on the ``ast`` tree: may a sync function of the module block or call a
    project function? The analyzer's own pre-pass answers the first half, with a probe
    coroutine that calls every function and method of the module."""
    calls = [n for n in ast_nodes(tree) if isinstance(n, ast.Call)]
    if ast_project_calls(tree, calls, index, path):
        return True
    probe_calls: list[ast.stmt] = []
    for stmt in ast_statements(tree.body):
        if isinstance(stmt, ast.FunctionDef):
            probe_calls.append(ast.Expr(ast.Call(ast.Name(stmt.name), [], [])))
        elif isinstance(stmt, ast.ClassDef):
            for item in ast_statements(stmt.body):
                if isinstance(item, ast.FunctionDef):
                    probe_calls.append(ast.Expr(ast.Call(ast.Attribute(ast.Name("self"), item.name), [], [])))
    if not probe_calls:
        return False
    probe = ast.AsyncFunctionDef(name="__wfasync_probe__", args=ast.arguments([], [], None, [], [], None, []),
                                 body=probe_calls, decorator_list=[], returns=None, type_params=[])
    return might_block_tree(ast.Module([*tree.body, probe], []), None, config)


def _ast_aliases(tree: ast.Module, index: ProjectView, path: str) -> dict[str, str]:
    out = {k: v for k, v in import_bindings(tree, index, path).items() if index.is_project(v)}
    module = index.module_of(path)
    if module is not None:
        out.update(module_instances(tree, module))
    return out


def module_instances(tree: ast.Module, module: str) -> dict[str, str]:
    """Module-level names bound once to an instance of a class of the module built without
    arguments (``secrets = Secrets()``), as ``{"secrets": "pkg.s.Secrets()"}``: a method
    called on one from another module is that class's method, and guards on what its
    constructor set see every parameter at its default. A name bound again at module level,
    or declared ``global`` in a function, holds something else at times; arguments would
    have to be read in their own module: both left out."""
    classes = {s.name for s in tree.body if isinstance(s, ast.ClassDef)}
    if not classes:
        return {}
    made: dict[str, str] = {}
    for stmt in tree.body:
        if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                and isinstance(stmt.value, ast.Call) and isinstance(stmt.value.func, ast.Name)
                and stmt.value.func.id in classes and not stmt.value.args and not stmt.value.keywords):
            made[stmt.targets[0].id] = f"{module}.{stmt.value.func.id}{INSTANCE}"
    if not made:
        return {}
    counts: dict[str, int] = {}
    for node in _module_level_nodes(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            counts[node.id] = counts.get(node.id, 0) + 1
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            counts[node.name] = counts.get(node.name, 0) + 1
        elif isinstance(node, ast.Global):
            for name in node.names:
                counts[name] = counts.get(name, 0) + 1
    return {k: v for k, v in made.items() if counts.get(k) == 1}


def _module_level_nodes(tree: ast.Module) -> list[ast.AST]:
    """The nodes of the module-level statements (not inside functions or classes), plus every
    ``global`` statement anywhere."""
    out: list[ast.AST] = [s for s in all_statements(tree.body) if isinstance(s, ast.Global)]
    todo: list[ast.AST] = list(tree.body)
    while todo:
        node = todo.pop()
        out.append(node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        todo.extend(ast.iter_child_nodes(node))
    return out


def _assigned_project_names(tree: ast.Module, index: ProjectView, path: str) -> set[str]:
    """The names a module-level assignment binds to a dotted name that may be a project one
    (``load = db.load``): the summary follows such a name as it follows an import. One pass
    over the module for every name asked (a module with hundreds of names is asked for many)."""
    imported: dict[str, str] | None = None
    out: set[str] = set()
    for stmt in ast_statements(tree.body):
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets, value = [stmt.target], stmt.value
        else:
            continue
        bound = [t.id for t in targets if isinstance(t, ast.Name) and t.id not in out]
        if not bound:
            continue
        parts: list[str] = []
        while isinstance(value, ast.Attribute):
            parts.append(value.attr)
            value = value.value
        if not isinstance(value, ast.Name):
            continue
        if imported is None:
            imported = import_bindings(tree, index, path)
        base = imported.get(value.id)
        if base is None or index.is_project(".".join([base, *reversed(parts)])):
            out.update(bound)  # (a name of the module itself, or of the project: not worth guessing)
    return out


def ast_clears(tree: ast.Module, keys: Sequence[str], config: Config, index: ProjectView,
               path: str) -> tuple[list[str], list[str]] | None:
    """Cheap test on the ``ast`` tree: none of the module's functions ``keys`` (``load``,
    ``Repo.fetch``, ``Repo`` for its ``__init__``) can block by itself, nor anything of the
    module they may call. Returns their summary keys and the project names that they, or
    what they may call, call (they block only if one of those does). The same conservative
    pre-pass as :func:`may_matter`, narrowed to what those functions reach: a probe coroutine
    calls them, and the project-call side also counts every ``__init__`` and the module-level
    and class-level statements (where attribute and global types come from). None when one
    may block, or when a key is not a plain function or method of the module, a method its
    class does not define (the summary would not know it either), or a name it imports from
    the project."""
    top: dict[str, ast.AST] = {}
    classes: dict[str, ast.ClassDef] = {}
    for stmt in ast_statements(tree.body):
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            top[stmt.name] = stmt
        elif isinstance(stmt, ast.ClassDef):
            classes[stmt.name] = stmt
    aliases = _ast_aliases(tree, index, path)
    defined: dict[str, int] = {}  # every def and class of the module, nested ones too
    for node in all_statements(tree.body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined[node.name] = defined.get(node.name, 0) + 1
    probe_calls: list[ast.stmt] = []
    cleared: list[str] = []
    assigned: set[str] | None = None  # (made on first need)
    for key in keys:
        name, _, method = key.partition(".")
        if name in aliases and name not in defined:
            continue  # a re-export: the index follows it to the module that defines it
        if name in classes and defined[name] == 1 and "." not in method:
            has = {i.name for i in ast_statements(classes[name].body) if isinstance(i, ast.FunctionDef)}
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
        elif name not in defined:
            if assigned is None:
                assigned = _assigned_project_names(tree, index, path)
            if name in assigned:
                return None
            # (a variable, ``X = Struct(...).pack``: the summary would not know it either)
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
    if might_block_tree(narrowed, None, config):
        return None
    calls = coroutine_calls(narrowed)
    calls += [n for node in loose for n in ast_nodes(node) if isinstance(n, ast.Call)]
    return cleared, sorted(set(ast_project_calls(tree, calls, index, path)))
