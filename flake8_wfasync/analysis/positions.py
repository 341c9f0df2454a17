"""Line and column of libcst nodes, read off the ``ast`` tree of the same source.

libcst's PositionProvider costs more than the parse itself; the ``ast`` tree is cheap (flake8
hands it over for free) and knows every call's position. Only the definitions that hold
findings are matched up.
"""

from __future__ import annotations

import ast
import dataclasses

import libcst as cst

from .nodes import child_nodes
from .resolve import iter_statements

__all__ = ["Positions", "Span"]

Span = tuple[int, int, int, int]

# Fields in the order their code appears in the source, where dataclass order differs.
_SOURCE_ORDER: dict[type, tuple[str, ...]] = {
    cst.FunctionDef: ("decorators", "name", "type_parameters", "params", "returns", "body"),
    cst.ClassDef: ("decorators", "name", "type_parameters", "bases", "keywords", "body"),
    cst.IfExp: ("body", "test", "orelse"),
    cst.Parameters: ("posonly_params", "params", "star_arg", "kwonly_params", "star_kwarg"),
    cst.Arg: ("keyword", "value"),
}
_SOURCE_FIELDS: dict[type, tuple[str, ...]] = {}


def _source_fields(cls: type) -> tuple[str, ...]:
    f = _SOURCE_FIELDS.get(cls)
    if f is None:
        if cls in _SOURCE_ORDER:
            f = tuple(n for n in _SOURCE_ORDER[cls] if hasattr(cls, "__dataclass_fields__")
                      and n in cls.__dataclass_fields__)
        else:
            f = tuple(x.name for x in dataclasses.fields(cls) if not x.name.startswith("whitespace")
                      and x.name not in ("lpar", "rpar", "comma", "leading_lines", "semicolon",
                                         "newline", "trailing_whitespace", "header", "footer"))
        _SOURCE_FIELDS[cls] = f
    return f


class Positions:
    """Line/column of libcst nodes, read off the ``ast`` tree of the same source.

    Function definitions are matched by their order in a statement walk (the same in both
    trees); calls inside one definition by their order in a pre-order, source-order walk.
    Only definitions that hold findings are walked. If the two trees ever disagree, libcst's
    PositionProvider (exact but slow) takes over for the module.
    """

    def __init__(self, module: cst.Module, tree: ast.Module) -> None:
        self.module = module
        self.tree = tree
        self._cst_defs: dict[int, int] | None = None
        self._ast_defs: list[ast.AST] | None = None
        self._calls: dict[int, tuple[dict[int, int], list[ast.Call]] | None] = {}
        self._exact: dict | None = None

    def of(self, node: cst.CSTNode, owner: cst.FunctionDef | None) -> Span:
        try:
            if type(node) is cst.FunctionDef:
                d = self._ast_def(node)
                if d is not None:
                    n = len("async def " if node.asynchronous is not None else "def ")
                    return d.lineno, d.col_offset, d.lineno, d.col_offset + n + len(node.name.value)
            else:
                got = self._calls_in(owner)
                if got is not None:
                    index, calls = got
                    i = index.get(id(node))
                    if i is not None:
                        c = calls[i]
                        return c.lineno, c.col_offset, c.end_lineno or c.lineno, c.end_col_offset or 0
        except (IndexError, KeyError):
            pass
        return self._exact_span(node)

    def _defs(self) -> None:
        cst_defs: dict[int, int] = {}
        ast_defs: list[ast.AST] = []

        def walk_cst(stmts) -> None:
            for stmt in iter_statements(stmts):
                if type(stmt) is cst.FunctionDef:
                    cst_defs[id(stmt)] = len(cst_defs)
                    walk_cst(stmt.body.body)
                elif type(stmt) is cst.ClassDef:
                    walk_cst(stmt.body.body)

        def walk_ast(stmts) -> None:
            for stmt in stmts:
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    ast_defs.append(stmt)
                    walk_ast(stmt.body)
                    continue
                if isinstance(stmt, ast.ClassDef):
                    walk_ast(stmt.body)
                    continue
                walk_ast(getattr(stmt, "body", ()) if isinstance(getattr(stmt, "body", None), list) else ())
                for h in getattr(stmt, "handlers", ()):
                    walk_ast(h.body)
                for case in getattr(stmt, "cases", ()):
                    walk_ast(case.body)
                walk_ast(getattr(stmt, "orelse", ()) or ())
                walk_ast(getattr(stmt, "finalbody", ()) or ())

        walk_cst(self.module.body)
        walk_ast(self.tree.body)
        self._cst_defs, self._ast_defs = cst_defs, ast_defs

    def _ast_def(self, node: cst.FunctionDef) -> ast.AST | None:
        if self._cst_defs is None:
            self._defs()
        assert self._cst_defs is not None and self._ast_defs is not None
        if len(self._cst_defs) != len(self._ast_defs):
            return None
        i = self._cst_defs.get(id(node))
        return None if i is None else self._ast_defs[i]

    def _calls_in(self, owner: cst.FunctionDef | None):
        key = id(owner)
        if key in self._calls:
            return self._calls[key]
        result = None
        if owner is None:
            cst_root, ast_root = self.module, self.tree
        else:
            cst_root, ast_root = owner, self._ast_def(owner)
        if ast_root is not None:
            cst_calls: dict[int, int] = {}
            stack: list[cst.CSTNode] = [cst_root]
            while stack:
                n = stack.pop()
                t = type(n)
                if t is cst.Call:
                    cst_calls[id(n)] = len(cst_calls)
                children = child_nodes(n, _source_fields(t))
                children.reverse()
                stack.extend(children)
            ast_calls = [n for n in ast.walk(ast_root) if isinstance(n, ast.Call)]
            ast_calls.sort(key=lambda c: (c.lineno, c.col_offset, -(c.end_lineno or 0),
                                          -(c.end_col_offset or 0)))
            if len(ast_calls) == len(cst_calls):
                result = (cst_calls, ast_calls)
        self._calls[key] = result
        return result

    def _exact_span(self, node: cst.CSTNode) -> Span:
        if self._exact is None:
            from libcst.metadata import MetadataWrapper, PositionProvider

            wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
            self._exact = dict(wrapper.resolve(PositionProvider))
        rng = self._exact.get(node)
        if rng is None:
            return 1, 0, 1, 0
        return rng.start.line, rng.start.column, rng.end.line, rng.end.column
