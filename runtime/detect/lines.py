"""Classify one sampled source line whose blocking call left no Python frame (``time.sleep``,
``open``, ``conn.execute``): which catalog entry does it call?

Two ways, cheapest first, both without holding the GIL for long (the loop thread may need it):

1. *Live names*: parse just that statement and look its call names up in the module the frame
   ran in (``time.sleep`` -> the ``time`` module's ``sleep``; ``sleep`` after
   ``from time import sleep``; ``open`` in builtins), then ask the catalog about the
   qualified names.
2. *The static matcher* on a small excerpt: the file's imports and the enclosing function,
   so ``fh = open(p)`` ... ``fh.read()`` resolves as it does for flake8. Parsing the whole file
   with libcst would hold the GIL for a quarter of a second on a large module.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import re
import sys
import textwrap
import types
from typing import Any

_MISSING = object()
_IMPORT = re.compile(r"^\s*(?:import|from)\s+[\w.]")
_DEF = re.compile(r"^(\s*)(?:async\s+)?def\s")
_DECORATOR = re.compile(r"^\s*@")
# Excerpts longer than this are not worth a libcst parse on the watchdog thread.
MAX_EXCERPT_LINES = 600


def calls_at(lines: list[str], lineno: int) -> list[list[str]]:
    """Dotted names of the calls that span the (1-based) line: ``time.sleep(1)`` ->
    ``[["time", "sleep"]]``. Only the statement around the line is parsed, trying a few
    starts above it for a line that continues a longer statement."""
    index = lineno - 1
    if not 0 <= index < len(lines):
        return []
    for back in range(0, 8):
        start = index - back
        if start < 0:
            break
        for extra in range(0, 12):
            text = textwrap.dedent("".join(lines[start : index + extra + 1])).rstrip()
            if text.endswith(":"):
                text += " pass"
            try:
                tree = ast.parse(text)
            except (SyntaxError, ValueError):
                continue
            target = back + 1  # the line's number inside the parsed chunk
            names = [
                dotted
                for node, dotted in _calls(tree)
                if node.lineno <= target <= (node.end_lineno or node.lineno)
            ]
            if names:
                return names
            break  # this start parses but has no call on the line: try one further up
    return []


def _calls(tree: ast.AST) -> list[tuple[ast.Call, list[str]]]:
    out: list[tuple[ast.Call, list[str]]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        parts: list[str] = []
        func: Any = node.func
        while isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
        if isinstance(func, ast.Name):
            parts.append(func.id)
            out.append((node, parts[::-1]))
    return out


def qualified_candidates(dotted: list[str], namespace: dict[str, Any]) -> list[str]:
    """Qualified names a dotted call can mean, resolved through live modules and classes only
    (no descriptors or properties run)."""
    head = namespace.get(dotted[0], _MISSING)
    if head is _MISSING:
        head = getattr(builtins, dotted[0], _MISSING)
        if head is _MISSING:
            return []
        if len(dotted) == 1:
            return [f"builtins.{dotted[0]}", *(_own_name(head))]
    out: list[str] = []
    if isinstance(head, types.ModuleType):
        out.append(".".join([head.__name__, *dotted[1:]]))
    obj = head
    for attr in dotted[1:]:
        if not isinstance(obj, (types.ModuleType, type)):
            obj = _MISSING
            break
        obj = inspect.getattr_static(obj, attr, _MISSING)
        if isinstance(obj, (staticmethod, classmethod)):
            obj = obj.__func__
    if obj is not _MISSING:
        out.extend(_own_name(obj))
    return out


def _own_name(obj: Any) -> list[str]:
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if isinstance(module, str) and isinstance(qualname, str):
        return [f"{module}.{qualname}"]
    return []


def live_entries(lines: list[str], lineno: int, module_name: str | None, match: Any) -> list[tuple[Any, str]]:
    """(catalog entry, qualified name) for each call on the line that the catalog knows."""
    module = sys.modules.get(module_name or "")
    namespace = getattr(module, "__dict__", {}) if module is not None else {}
    found: list[tuple[Any, str]] = []
    for dotted in calls_at(lines, lineno):
        for name in qualified_candidates(dotted, namespace):
            entry = match(name)
            if entry is not None:
                found.append((entry, name))
                break
    return found


def excerpt(lines: list[str], lineno: int) -> tuple[str, int] | None:
    """The file's imports and the function around ``lineno``, dedented, and where the line
    landed in it; None when the excerpt would be too long."""
    index = lineno - 1
    if not 0 <= index < len(lines):
        return None
    imports: list[str] = []
    i = 0
    while i < len(lines):
        if _IMPORT.match(lines[i]):
            block = [lines[i]]
            depth = lines[i].count("(") - lines[i].count(")")
            while (depth > 0 or block[-1].rstrip().endswith("\\")) and i + 1 < len(lines):
                i += 1
                block.append(lines[i])
                depth += lines[i].count("(") - lines[i].count(")")
            imports.append(textwrap.dedent("".join(block)))
        i += 1
    target_indent = _indent(lines[index])
    start = None
    for j in range(index, -1, -1):
        found = _DEF.match(lines[j])
        if found and len(found.group(1)) < target_indent:
            start = j
            break
    if start is None:
        body = lines[index : index + 1]
        first = index
    else:
        def_indent = _indent(lines[start])
        while start > 0 and _DECORATOR.match(lines[start - 1]):
            start -= 1
        end = index + 1
        while end < len(lines):
            text = lines[end]
            if text.strip() and not text.lstrip().startswith("#") and _indent(text) <= def_indent:
                break
            end += 1
        body = lines[start:end]
        first = start
    if len(body) + len(imports) > MAX_EXCERPT_LINES:
        return None
    head = "".join(line if line.endswith("\n") else line + "\n" for line in imports)
    code = textwrap.dedent("".join(body))
    return head + code, head.count("\n") + (index - first) + 1


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())
