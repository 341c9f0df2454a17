"""Which files a run checks: folders walked for ``*.py``, ``.gitignore``-style excludes.

Excludes come from three places and share one syntax (gitignore patterns): the ``.gitignore``
files found from the project root down, ``exclude`` in ``[tool.wfasync]`` and ``--exclude`` on
the command line (both relative to the project root). Folders that are never source
(``.git``, virtualenvs, caches, build output) are skipped outright. A file named on the command
line is checked even when a pattern excludes it, unless ``force_exclude`` is set (pre-commit
passes file names one by one, and there the project's excludes must still hold).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

ALWAYS_SKIPPED_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "__pycache__", "node_modules",
        ".mypy_cache", ".pytest_cache", ".ruff_cache", ".wfasync_cache", ".eggs", ".hypothesis",
        "build", "dist", "site-packages",
    }
)
PYTHON_SUFFIXES = (".py",)


@dataclass(frozen=True)
class Pattern:
    """One gitignore line, compiled. ``base`` is the folder it is relative to."""

    base: str
    regex: re.Pattern[str]
    negated: bool
    dir_only: bool

    def matches(self, rel_to_base: str, is_dir: bool) -> bool:
        if self.dir_only and not is_dir:
            return False
        return self.regex.match(rel_to_base) is not None


@lru_cache(maxsize=4096)
def _glob_to_regex(glob: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(glob):
        ch = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("/**", i) and i + 3 == len(glob):
            out.append("/.*")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif ch == "*":
            out.append("[^/]*")
            i += 1
        elif ch == "?":
            out.append("[^/]")
            i += 1
        elif ch == "[":
            end = glob.find("]", i + 1)
            if end == -1:
                out.append(re.escape(ch))
                i += 1
            else:
                body = glob[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end + 1
        elif ch == "\\" and i + 1 < len(glob):
            out.append(re.escape(glob[i + 1]))
            i += 2
        else:
            out.append(re.escape(ch))
            i += 1
    return "".join(out)


def compile_pattern(line: str, base: str = "") -> Pattern | None:
    """A gitignore line relative to folder ``base`` (POSIX, "" for the root); None for blanks."""
    line = line.rstrip("\n").rstrip("\r")
    if not line.strip() or line.startswith("#"):
        return None
    # Trailing spaces are ignored unless escaped.
    stripped = line.rstrip(" ")
    if stripped.endswith("\\") and len(stripped) < len(line):
        stripped += " "
    line = stripped
    negated = line.startswith("!")
    if negated or line.startswith("\\!") or line.startswith("\\#"):
        line = line[1:]
    dir_only = line.endswith("/")
    line = line.rstrip("/")
    if not line:
        return None
    anchored = "/" in line
    line = line.lstrip("/")
    if line.startswith("./"):
        line = line[2:]
    body = _glob_to_regex(line)
    # A pattern without a slash matches a name at any depth; with one, from the base. What
    # lies under a matched folder is excluded by the folder (walks prune it, explicit paths
    # check their ancestors), not by the pattern: so a folder named on the command line is
    # still walked even when an ignore file excludes it.
    prefix = "" if anchored else "(?:.*/)?"
    regex = re.compile(f"^{prefix}{body}$", re.DOTALL)
    return Pattern(base=base, regex=regex, negated=negated, dir_only=dir_only)


def compile_patterns(lines: Iterable[str], base: str = "") -> list[Pattern]:
    return [p for p in (compile_pattern(line, base) for line in lines) if p is not None]


@dataclass
class Excluder:
    """Decides whether a path under ``root`` is excluded; collects .gitignore files lazily."""

    root: Path
    patterns: list[Pattern] = field(default_factory=list)
    use_gitignore: bool = True
    _loaded_dirs: set[str] = field(default_factory=set)
    _root: str | None = None

    def _rel(self, path: Path | str) -> str | None:
        text = os.fspath(path)
        root = self._root_text()
        if text == root:
            return ""
        if os.path.isabs(text) and os.path.normpath(text) == text:
            # A clean absolute path (the walk makes only those): no relpath, which asks the
            # operating system for the current folder twice per call.
            prefix = root if root.endswith(os.sep) else root + os.sep
            return text[len(prefix):].replace(os.sep, "/") if text.startswith(prefix) else None
        try:
            rel = os.path.relpath(text, self.root)
        except ValueError:  # another drive on Windows
            return None
        if rel == ".":
            return ""
        if rel.startswith(".."):
            return None
        return rel.replace(os.sep, "/")

    def _root_text(self) -> str:
        if self._root is None:
            self._root = str(self.root)
        return self._root

    def load_gitignore(self, folder: Path | str) -> None:
        if not self.use_gitignore:
            return
        rel = self._rel(folder)
        if rel is None or rel in self._loaded_dirs:
            return
        self._loaded_dirs.add(rel)
        try:
            with open(os.path.join(folder, ".gitignore"), encoding="utf-8", errors="replace") as fh:
                text = fh.read()
        except OSError:
            return
        self.patterns.extend(compile_patterns(text.splitlines(), base=rel))

    def load_gitignores_down_to(self, folder: Path) -> None:
        """Load the .gitignore files of every folder from the root down to ``folder``."""
        rel = self._rel(folder)
        if rel is None:
            return
        current = self.root
        self.load_gitignore(current)
        for part in [p for p in rel.split("/") if p]:
            current = current / part
            self.load_gitignore(current)

    def is_excluded(self, path: Path | str, is_dir: bool, check_ancestors: bool = True) -> bool:
        rel = self._rel(path)
        if rel is None or rel == "":
            return False
        if not check_ancestors:
            return self._match(rel, is_dir)
        # Git semantics: a file inside an excluded folder stays excluded; walking prunes such
        # folders, so only explicit paths need each ancestor checked.
        parts = rel.split("/")
        for depth in range(1, len(parts) + 1):
            sub = "/".join(parts[:depth])
            sub_is_dir = is_dir if depth == len(parts) else True
            if self._match(sub, sub_is_dir):
                return True
        return False

    def _match(self, rel: str, is_dir: bool) -> bool:
        excluded = False
        for pattern in self.patterns:
            if pattern.base:
                if not rel.startswith(pattern.base + "/"):
                    continue
                local = rel[len(pattern.base) + 1 :]
            else:
                local = rel
            if pattern.matches(local, is_dir):
                excluded = not pattern.negated
        return excluded


class DiscoveryError(Exception):
    """A path named on the command line does not exist."""


def discover(
    paths: Iterable[str | Path],
    root: Path,
    exclude: Iterable[str] = (),
    *,
    use_gitignore: bool = True,
    force_exclude: bool = False,
) -> list[Path]:
    """Files to check, sorted and without duplicates, as given (relative stays relative)."""
    excluder = Excluder(root=root.resolve(), use_gitignore=use_gitignore)
    excluder.patterns.extend(compile_patterns(exclude, base=""))
    found: dict[str, Path] = {}
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise DiscoveryError(f"{raw}: no such file or directory")
        absolute = path.resolve()
        if path.is_dir():
            excluder.load_gitignores_down_to(absolute)
            if force_exclude and (absolute.name in ALWAYS_SKIPPED_DIRS or excluder.is_excluded(absolute, True)):
                continue
            for file in _walk(path, absolute, excluder):
                found.setdefault(os.path.normpath(file), Path(os.path.normpath(file)))
        else:
            if force_exclude:
                excluder.load_gitignores_down_to(absolute.parent)
                if excluder.is_excluded(absolute, False):
                    continue
            found.setdefault(os.path.normpath(path), Path(os.path.normpath(path)))
    return [found[key] for key in sorted(found)]


def _regular_or_link(entry: os.DirEntry[str]) -> bool:
    """A regular file, or a symlink (a broken one is then reported as unreadable)."""
    try:
        return entry.is_file() or entry.is_symlink()
    except OSError:
        return True


def _walk(shown: Path, absolute: Path, excluder: Excluder) -> Iterable[str]:
    stack = [(str(shown), str(absolute))]
    while stack:
        shown_dir, abs_dir = stack.pop()
        excluder.load_gitignore(abs_dir)
        try:
            entries = sorted(os.scandir(abs_dir), key=lambda e: e.name)
        except OSError:
            continue
        subdirs = []
        for entry in entries:
            name = entry.name
            try:
                is_dir = entry.is_dir()
            except OSError:
                continue
            abs_path = os.path.join(abs_dir, name)
            if is_dir:
                if name in ALWAYS_SKIPPED_DIRS or name.endswith(".egg-info"):
                    continue
                if excluder.patterns and excluder.is_excluded(abs_path, True, check_ancestors=False):
                    continue
                subdirs.append((os.path.join(shown_dir, name), abs_path))
            elif name.endswith(PYTHON_SUFFIXES):
                if not _regular_or_link(entry):
                    continue  # a FIFO, socket or device: reading it could wait forever
                if excluder.patterns and excluder.is_excluded(abs_path, False, check_ancestors=False):
                    continue
                yield os.path.join(shown_dir, name)
        stack.extend(reversed(subdirs))
