"""Where the defs of a module lie, from its ``ast`` tree: the order in which
:class:`~.positions.Positions` matches them with libcst's, and a list of spans small enough
for the scan to hand to the process that analyses the file (no libcst here)."""

from __future__ import annotations

import ast

__all__ = ["DefSpan", "def_spans", "walk_defs"]

DefSpan = tuple[int, int, int]  # a def's line, column and last line


def walk_defs(stmts: list[ast.stmt], out: list[ast.AST]) -> None:
    """The defs of ``stmts`` and of every block and def in them, in the order libcst's
    statements give them (:meth:`Positions._defs` matches the two lists by place)."""
    for stmt in stmts:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out.append(stmt)
            walk_defs(stmt.body, out)
            continue
        if isinstance(stmt, ast.ClassDef):
            walk_defs(stmt.body, out)
            continue
        walk_defs(getattr(stmt, "body", ()) if isinstance(getattr(stmt, "body", None), list) else (), out)
        for h in getattr(stmt, "handlers", ()):
            walk_defs(h.body, out)
        for case in getattr(stmt, "cases", ()):
            walk_defs(case.body, out)
        walk_defs(getattr(stmt, "orelse", ()) or (), out)
        walk_defs(getattr(stmt, "finalbody", ()) or (), out)


def def_spans(tree: ast.Module) -> list[DefSpan]:
    """Where each def of ``tree`` lies (its ``def`` line, column and last line), in the
    order :class:`Positions` matches them: small enough to hand to another process, which
    then parses with ``ast`` only the defs that hold findings."""
    defs: list[ast.AST] = []
    walk_defs(tree.body, defs)
    return [(d.lineno, d.col_offset, d.end_lineno or d.lineno) for d in defs]  # type: ignore[attr-defined]
