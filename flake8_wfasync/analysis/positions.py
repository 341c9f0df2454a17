"""Line and column of libcst nodes, read off the ``ast`` tree of the same source.

libcst's PositionProvider costs more than the parse itself; the ``ast`` tree is cheap (flake8
hands it over for free) and knows every call's position. Only the definitions that hold
findings are matched up. Where no tree is at hand but the scan noted where each definition
lies (:func:`def_spans`), only the definitions that hold findings are parsed with ``ast``.
"""

from __future__ import annotations

import ast
import dataclasses

import libcst as cst

from ..source import parse_quietly, source_lines
from .def_spans import DefSpan, walk_defs
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

    def __init__(self, module: cst.Module, tree: ast.Module | None, text: str | None = None,
                 spans: list[DefSpan] | None = None) -> None:
        """``tree``: the ``ast`` tree of the module's source; or None, with that ``text`` and
        the :func:`def_spans` of its tree, to parse only the definitions asked about."""
        self.module = module
        self._tree = tree
        self._text = text
        self._spans = spans if tree is None and text is not None else None
        self._lines: list[str] | None = None
        self._cst_defs: dict[int, int] | None = None
        self._ast_defs: list[ast.AST | None] | None = None
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

    @property
    def tree(self) -> ast.Module:
        """The whole ``ast`` tree (parsed now if only spans were given)."""
        if self._tree is None:
            assert self._text is not None
            self._tree = parse_quietly(self._text, "<module>")
            self._spans = None
            self._cst_defs = None
        return self._tree

    def _defs(self) -> None:
        cst_defs: dict[int, int] = {}

        def walk_cst(stmts) -> None:
            for stmt in iter_statements(stmts):
                if type(stmt) is cst.FunctionDef:
                    cst_defs[id(stmt)] = len(cst_defs)
                    walk_cst(stmt.body.body)
                elif type(stmt) is cst.ClassDef:
                    walk_cst(stmt.body.body)

        walk_cst(self.module.body)
        if self._spans is not None and len(self._spans) == len(cst_defs):
            ast_defs: list[ast.AST | None] = [None] * len(self._spans)  # parsed when asked for
        else:
            ast_defs = []
            walk_defs(self.tree.body, ast_defs)  # type: ignore[arg-type]
        self._cst_defs, self._ast_defs = cst_defs, ast_defs

    def _ast_def(self, node: cst.FunctionDef) -> ast.AST | None:
        if self._cst_defs is None:
            self._defs()
        assert self._cst_defs is not None and self._ast_defs is not None
        if len(self._cst_defs) != len(self._ast_defs):
            return None
        i = self._cst_defs.get(id(node))
        if i is None:
            return None
        found = self._ast_defs[i]
        if found is None:
            found = self._ast_defs[i] = self._parse_def(i)
        return found

    def _parse_def(self, i: int) -> ast.AST | None:
        """The ``ast`` of the ``i``-th definition alone, at its place in the file; the whole
        tree when its lines do not parse by themselves."""
        assert self._spans is not None and self._text is not None
        line, col, last = self._spans[i]
        if self._lines is None:
            self._lines = source_lines(self._text)
        lines = self._lines[line - 1:last]
        # An indented def parses as the block of an ``if``: its columns stay what they are.
        head = "if 1:\n" if col else ""
        try:
            got = parse_quietly(head + "\n".join(lines) + "\n", "<def>").body[0]
            if col:
                got = got.body[0]  # type: ignore[attr-defined]
        except (SyntaxError, ValueError, RecursionError, MemoryError, IndexError):
            got = None
        if isinstance(got, (ast.FunctionDef, ast.AsyncFunctionDef)):
            ast.increment_lineno(got, line - 2 if col else line - 1)
            if got.lineno == line and got.col_offset == col:
                return got
        # The lines said something else: the whole tree, for every def.
        self._spans = None
        self._defs()
        assert self._cst_defs is not None and self._ast_defs is not None
        return self._ast_defs[i] if len(self._ast_defs) == len(self._cst_defs) else None

    def _calls_in(self, owner: cst.FunctionDef | None):
        key = id(owner)
        if key in self._calls:
            return self._calls[key]
        result = None
        if owner is None:
            cst_root, ast_root = self.module, self.tree  # (module level: the whole tree)
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
