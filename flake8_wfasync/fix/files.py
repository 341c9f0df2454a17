"""``wfasync fix`` on files: read, fix, report, and write atomically.

A file is written in one step (a temp file beside it, then a rename), keeping its encoding,
BOM, newlines and permissions; a fix killed half-way leaves the file whole and a temp file that
the next fix removes.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libcst as cst

from ..analysis.precheck import might_block_tree
from ..analysis.project_index import build_project_index
from ..analysis.project_view import ProjectView
from ..atomic import replace_file
from ..config import Config, analysis_config
from ..knowledge.findings import Finding
from ..source import decode_source, parse_quietly, source_lines
from .rewrite import Applied, FixError, fix_module

__all__ = ["FileFix", "FixReport", "atomic_write", "fix_file", "fix_files", "remove_stale_temps"]


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


def _reasons(refusals: Sequence[tuple[Finding, str]], code: str) -> dict[tuple[str, str, str], str]:
    lines = source_lines(code)
    out = {}
    for f, reason in refusals:
        text = lines[f.line - 1].strip() if 0 < f.line <= len(lines) else ""
        out[(f.code, f.qualname or "", text)] = reason
    return out


def _worth_parsing(data: bytes, path: str, config: Config, index: ProjectView | None) -> bool:
    """The analyzer's cheap pre-check (with the project index, so that a call into a blocking
    helper of another module counts): a file without a coroutine that might block has nothing
    to fix. A file that does not decode or parse passes, coroutines or not, so that its error is
    reported."""
    try:
        text = decode_source(data)
        if "async" not in text:
            parse_quietly(text)  # nothing to fix, but one that does not parse is reported below
            return False
        tree = parse_quietly(text)
        return bool(might_block_tree(tree, text, analysis_config(config), index, path))
    except Exception:  # noqa: BLE001 - the full parse below reports what is wrong
        return True


def fix_file(path: Path, config: Config, *, write: bool, index: ProjectView | None = None) -> FileFix:
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


def _line_shift(before: str, after: str) -> Callable[[int], int]:
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
