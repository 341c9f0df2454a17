"""Reading a source file: decoding, parsing (``ast`` and libcst), its lines, ``# noqa``.

Every part of the static side reads code through here, so that a file decodes, parses, numbers
its lines and honours ``# noqa`` the same way in the flake8 plugin, ``wfasync check`` and
``wfasync fix``. libcst is imported only by :func:`cst_parse`: a run that never needs a libcst
tree never pays for the import.
"""

from __future__ import annotations

import ast
import io
import re
import threading
import tokenize
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import libcst as cst

__all__ = ["SourceParseError", "ast_parse", "cst_parse", "decode_source", "noqa_codes", "parse_quietly",
           "source_lines", "suppressed"]


class SourceParseError(Exception):
    """The file is not valid Python (for the parser in use)."""

    def __init__(self, path: str, line: int, col: int, msg: str) -> None:
        super().__init__(path, line, col, msg)
        self.path = path
        self.line = line
        self.col = col
        self.msg = msg

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: cannot parse: {self.msg}"


# --- decoding ------------------------------------------------------------------------------------

def decode_source(source: str | bytes) -> str:
    """Text of a source file, honouring a BOM and a coding cookie (PEP 263)."""
    if isinstance(source, str):
        return source[1:] if source.startswith("\ufeff") else source
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        return source.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as exc:
        raise SourceParseError("<string>", 1, 0, f"cannot decode source: {exc}") from None


# --- parsing -------------------------------------------------------------------------------------

def parse_quietly(text: str, path: str = "<unknown>") -> ast.Module:
    """``ast.parse`` without the warnings Python gives about the code it parses (an invalid
    escape like ``"\\d"``, a literal called like a function): the code is the user's, not ours,
    and a check is no place to print them. Errors still raise."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(text, filename=path)


def ast_parse(text: str, path: str) -> ast.Module:
    """The ``ast`` tree of ``text``; every failure is a :class:`SourceParseError`."""
    try:
        return parse_quietly(text, path)
    except SyntaxError as exc:
        raise SourceParseError(path, exc.lineno or 1, max((exc.offset or 1) - 1, 0),
                               exc.msg or "invalid syntax") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise SourceParseError(path, 1, 0, str(exc) or type(exc).__name__) from None


def cst_parse(text: str, path: str) -> cst.Module:
    """The libcst module of ``text``; every failure is a :class:`SourceParseError`."""
    import libcst as cst

    try:
        return _parse_unchecked(cst, text)
    except cst.ParserSyntaxError as exc:
        msg = " ".join(exc.message.split()) or "invalid syntax"
        if len(msg) > 120:
            msg = msg[:117] + "..."
        raise SourceParseError(path, exc.raw_line, exc.raw_column, msg) from None
    except (RecursionError, MemoryError, ValueError, TypeError) as exc:
        raise SourceParseError(path, 1, 0, f"{type(exc).__name__}: {exc}") from None


def _no_check(self: object) -> None:
    return None


def _parse_unchecked(cst: Any, text: str) -> cst.Module:
    """``cst.parse_module`` without libcst checking each node as it is built. The checks guard
    hand-built trees; a parsed tree meets them by construction, yet they cost a quarter of the
    parse. Skipped only while this is the process's one thread, so that nodes built anywhere
    else (the fixer's rewrites among them) are always checked."""
    if threading.active_count() != 1:
        return cst.parse_module(text)
    from .node_init import parsing_inits

    check_node = cst.CSTNode.__post_init__
    cst.CSTNode.__post_init__ = _no_check
    try:
        with parsing_inits():
            return cst.parse_module(text)
    finally:
        cst.CSTNode.__post_init__ = check_node


# --- lines and noqa ------------------------------------------------------------------------------

_LINE_END = re.compile(r"\r\n|\r|\n")
# Codes as flake8 reads them: letters then digits (WFA101, but also ASYNC210 or BLE001, which
# silence only themselves).
_NOQA = re.compile(r"#\s*noqa(?::[\s]?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)


def source_lines(text: str) -> list[str]:
    """The lines of a source text as Python numbers them. ``str.splitlines`` also breaks at
    form feeds, U+2028 and other characters that do not end a line of code, which would put
    findings (and their ``# noqa``) on the wrong line."""
    lines = _LINE_END.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def noqa_codes(line: str) -> frozenset[str] | None:
    """None: no noqa comment; empty set: a bare ``# noqa`` (everything); else the codes."""
    match = _NOQA.search(line)
    if match is None:
        return None
    codes = match.group("codes")
    if not codes:
        return frozenset()
    return frozenset(c.upper() for c in re.split(r"[,\s]+", codes) if c)


def suppressed(code: str, line: str) -> bool:
    """Whether a ``# noqa`` comment on ``line`` silences ``code``."""
    codes = noqa_codes(line)
    if codes is None:
        return False
    return not codes or any(code.startswith(c) for c in codes)
