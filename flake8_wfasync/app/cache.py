"""Results cached per file content, so an unchanged tree re-checks in a blink.

One cache file per *key*: the tool version, a digest of the analyzer's own source (so editing
the analyzer never serves stale results) and the settings that change what the analyzer finds.
Inside it, each checked file maps to its size, mtime and content digest, a *tag* (the digest of
what the project-wide index knows that matters to this file, "" without an index) and the
findings the analyzer gave. A change elsewhere in the project re-analyses only the files whose
tag it changes.

A file whose size and mtime are unchanged is trusted without reading it (like git's index and
ruff's cache); any other file is read and hashed, and reused when its content is the same.
The cache is JSON, never pickle: it lives in the work tree and must not be able to run code.
It is written atomically; a broken or foreign cache file is ignored, never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..analysis.code_digest import analysis_digest
from ..atomic import replace_file

CACHE_DIR_NAME = ".wfasync_cache"
_FORMAT = 2
_KEEP_FILES = 8  # cache files of other keys kept (other settings, other versions)


def content_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def tree_digest(files: list[str]) -> str | None:
    """Digest of the paths, sizes and mtimes of a run's files; None when one cannot be read."""
    h = hashlib.blake2b(digest_size=16)
    for path in files:
        try:
            st = os.stat(path)
        except OSError:
            return None
        h.update(f"{os.path.abspath(path)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def make_key(*parts: Any) -> str:
    payload = json.dumps([_FORMAT, __version__, analysis_digest(), *parts], sort_keys=True, default=repr)
    return hashlib.blake2b(payload.encode(), digest_size=12).hexdigest()


@dataclass
class Entry:
    size: int
    mtime_ns: int
    digest: str
    result: dict[str, Any]
    # What else the result depends on: the project index's digest for this file ("" without one).
    tag: str = ""


@dataclass
class ResultCache:
    """Maps absolute file paths to the analysis result of their content."""

    directory: Path
    key: str
    entries: dict[str, Entry] = field(default_factory=dict)
    dirty: bool = False
    # tree_digest() of the last run's files: when it is unchanged, so is every result, and the
    # project index need not even be built.
    tree: str = ""

    @property
    def file(self) -> Path:
        return self.directory / f"results-{self.key}.json"

    @classmethod
    def open(cls, directory: Path, key: str) -> ResultCache:
        cache = cls(directory=directory, key=key)
        try:
            raw = json.loads(cache.file.read_text(encoding="utf-8"))
            if raw.get("format") == _FORMAT and raw.get("key") == key:
                for path, (size, mtime_ns, digest, result, tag) in raw["files"].items():
                    cache.entries[path] = Entry(size, mtime_ns, digest, result, tag)
                cache.tree = str(raw.get("tree", ""))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            cache.entries.clear()
        return cache

    def by_stat(self, path: str, st: os.stat_result, tag: str | None = "") -> dict[str, Any] | None:
        """The result for an unchanged size and mtime; ``tag=None`` trusts the stored tag."""
        entry = self.entries.get(path)
        if (entry is not None and entry.size == st.st_size and entry.mtime_ns == st.st_mtime_ns
                and (tag is None or entry.tag == tag)):
            return entry.result
        return None

    def by_content(self, path: str, st: os.stat_result, digest: str, tag: str | None = "") -> dict[str, Any] | None:
        entry = self.entries.get(path)
        if entry is not None and entry.digest == digest and (tag is None or entry.tag == tag):
            if entry.size != st.st_size or entry.mtime_ns != st.st_mtime_ns:
                entry.size, entry.mtime_ns = st.st_size, st.st_mtime_ns
                self.dirty = True
            return entry.result
        return None

    def store(self, path: str, st: os.stat_result, digest: str, result: dict[str, Any], tag: str = "") -> None:
        self.entries[path] = Entry(st.st_size, st.st_mtime_ns, digest, result, tag)
        self.dirty = True

    def save(self) -> None:
        """Write the cache atomically; a read-only tree just goes without a cache."""
        if not self.dirty:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            gitignore = self.directory / ".gitignore"
            if not gitignore.exists():
                gitignore.write_text("# Created by wfasync: results cache, safe to delete.\n*\n")
            payload = {
                "format": _FORMAT,
                "key": self.key,
                "tree": self.tree,
                "files": {p: [e.size, e.mtime_ns, e.digest, e.result, e.tag] for p, e in self.entries.items()},
            }
            replace_file(self.file, json.dumps(payload, separators=(",", ":")).encode("utf-8"))
            self._prune()
        except OSError:
            return
        self.dirty = False

    def _prune(self) -> None:
        others = sorted(
            (p for p in self.directory.glob("results-*.json") if p != self.file),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        for stale in others[_KEEP_FILES:]:
            try:
                stale.unlink()
            except OSError:
                pass
