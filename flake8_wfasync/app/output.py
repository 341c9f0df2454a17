"""Reporting a check: human text, JSON and GitHub workflow annotations (SARIF: sarif.py)."""

from __future__ import annotations

import json
import os
from typing import Any, TextIO

from .. import __version__
from ..knowledge.findings import Finding
from .file_check import finding_to_dict
from .runner import CheckResult, FileError

FORMATS = ("text", "json", "sarif", "github")


class Style:
    """ANSI colours for a terminal; nothing when piped or when NO_COLOR is set."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    @classmethod
    def for_stream(cls, stream: TextIO, choice: str = "auto") -> Style:
        if choice == "always":
            return cls(True)
        if choice == "never" or os.environ.get("NO_COLOR"):
            return cls(False)
        isatty = getattr(stream, "isatty", None)
        return cls(bool(isatty and isatty()))

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.enabled else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def red(self, text: str) -> str:
        return self._wrap("31", text)

    def cyan(self, text: str) -> str:
        return self._wrap("36", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def green(self, text: str) -> str:
        return self._wrap("32", text)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def write_text(result: CheckResult, out: TextIO, style: Style, *, show_source: bool = True) -> None:
    """Findings grouped by file, each with its source line, a caret and the fix."""
    by_file: dict[str, list[Finding]] = {}
    for finding in result.findings:
        by_file.setdefault(finding.path, []).append(finding)
    for path, findings in by_file.items():
        out.write(style.bold(path) + "\n")
        lines = result.lines.get(path, {})
        for f in findings:
            mark = style.green("[*] ") if is_fixable(result, f) else ""
            out.write(f"  {f.line}:{f.col + 1}  {style.red(f.code)}  {mark}{f.message}\n")
            text = lines.get(f.line, "")
            if show_source and text.strip():
                out.write(style.dim(f"    {f.line:>5} | ") + text.rstrip() + "\n")
                width = 1
                if f.end_line == f.line and f.end_col is not None and f.end_col > f.col:
                    width = f.end_col - f.col
                elif f.end_line is not None and f.end_line > f.line:  # runs on: underline to the end
                    width = max(1, len(text.rstrip()) - f.col)
                out.write(style.dim("          | ") + " " * _display_col(text, f.col) + style.red("^" * width) + "\n")
            if f.advice and f.advice not in f.message:
                out.write(f"          {style.cyan('fix:')} {f.advice}\n")
        out.write("\n")
    for error in result.errors:
        out.write(style.red(error.text()) + "\n")
    out.write(summary(result) + "\n")


def _display_col(text: str, col: int) -> int:
    # Tabs before the column keep the caret under the call in most terminals only if kept.
    return len(text[:col].expandtabs(8)) if "\t" in text[:col] else col


def summary(result: CheckResult) -> str:
    n_files = len({f.path for f in result.findings})
    parts = []
    if result.findings:
        parts.append(f"Found {_plural(len(result.findings), 'blocking problem')} in {_plural(n_files, 'file')}")
    else:
        parts.append("No blocking calls found")
    parts.append(f"{_plural(result.files_checked, 'file')} checked")
    if result.errors:
        parts.append(f"{_plural(len(result.errors), 'file')} could not be checked")
    text = "; ".join(parts) + "."
    n_fixable = sum(1 for f in result.findings if is_fixable(result, f))
    if n_fixable:
        text += f" {n_fixable} marked [*] can be rewritten by `wfasync fix`."
    if result.findings:
        text += " `wfasync explain CODE` tells why and how to fix by hand."
    return text


def is_fixable(result: CheckResult, f: Finding) -> bool:
    return (f.path, f.line, f.col, f.code) in result.fixable


def write_json(result: CheckResult, out: TextIO) -> None:
    payload: dict[str, Any] = {
        "tool": "wfasync",
        "version": __version__,
        "files_checked": result.files_checked,
        "findings": [_json_finding(f, result) for f in result.findings],
        "errors": [_json_error(e) for e in result.errors],
    }
    json.dump(payload, out, indent=2)
    out.write("\n")


def _json_finding(f: Finding, result: CheckResult) -> dict[str, Any]:
    data = finding_to_dict(f)
    # Columns count from 1, as in the text report, SARIF and GitHub annotations; the end
    # column is the first column after the call.
    data["col"] = f.col + 1
    if f.end_col is not None:
        data["end_col"] = f.end_col + 1
    data["source_line"] = result.lines.get(f.path, {}).get(f.line, "")
    data["fixable"] = is_fixable(result, f)
    return data


def _json_error(e: FileError) -> dict[str, Any]:
    return {"path": e.path, "line": e.line, "col": e.col + 1, "message": e.message, "internal": e.internal}


def _gh_escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_escape_prop(text: str) -> str:
    return _gh_escape_data(text).replace(":", "%3A").replace(",", "%2C")


def write_github(result: CheckResult, out: TextIO) -> None:
    """GitHub Actions workflow commands: one annotation per finding, on the changed line."""
    from ..knowledge.rules import get_rule

    for f in result.findings:
        props = [f"file={_gh_escape_prop(_posix(f.path))}", f"line={f.line}", f"col={f.col + 1}"]
        if f.end_line is not None:
            props.append(f"endLine={f.end_line}")
            if f.end_col is not None and f.end_line == f.line:
                props.append(f"endColumn={f.end_col + 1}")
        try:
            title = f"{f.code} {get_rule(f.code).title}"
        except KeyError:
            title = f.code
        props.append(f"title={_gh_escape_prop(title)}")
        out.write(f"::error {','.join(props)}::{_gh_escape_data(f.code + ' ' + f.message)}\n")
    for e in result.errors:
        props = f"file={_gh_escape_prop(_posix(e.path))},line={e.line},col={e.col + 1},title=wfasync"
        out.write(f"::error {props}::{_gh_escape_data(e.message)}\n")


def _posix(path: str) -> str:
    return path.replace(os.sep, "/")
