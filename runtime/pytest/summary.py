"""What the pytest plugin found over a session: each blocking site once, merged across workers.

A site is where the loop was blocked (file, line, rule code). The same site hit by ten tests
is one entry that knows its ten tests and its longest block; pytest-xdist workers ship their
entries to the controller as plain dicts and the controller merges them.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.detect.report import format_duration

SCHEMA_VERSION = 1


@dataclass
class Site:
    filename: str | None
    lineno: int | None
    code: str | None
    source_line: str = ""
    advice: str = ""
    step: str | None = None
    workflow: str | None = None
    coroutine: str | None = None
    # The function holding the blocking line (the coroutine may be an outer one that awaits it).
    function: str | None = None
    call: str | None = None
    tests: set[str] = field(default_factory=set)
    hits: int = 0
    longest: float = 0.0

    @property
    def key(self) -> tuple[str | None, int | None, str | None]:
        return (self.filename, self.lineno, self.code)

    def where(self) -> str:
        if self.step:
            return f"step {self.step!r} of {self.workflow}" if self.workflow else f"step {self.step!r}"
        if self.function:
            return f"{self.function}()"
        if self.coroutine:
            return f"coroutine {self.coroutine}"
        return "a loop callback"

    def location(self) -> str:
        if self.filename is None:
            return "<unknown location>"
        return f"{self.filename}:{self.lineno}" if self.lineno else self.filename

    def merge(self, other: Site) -> None:
        self.tests |= other.tests
        self.hits += other.hits
        self.longest = max(self.longest, other.longest)
        for name in ("source_line", "advice", "step", "workflow", "coroutine", "function", "call"):
            if not getattr(self, name) and getattr(other, name):
                setattr(self, name, getattr(other, name))

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.filename,
            "line": self.lineno,
            "code": self.code,
            "source": self.source_line,
            "step": self.step,
            "workflow": self.workflow,
            "coroutine": self.coroutine,
            "function": self.function,
            "call": self.call,
            "advice": self.advice,
            "tests": sorted(self.tests),
            "test_count": len(self.tests),
            "hits": self.hits,
            "longest_seconds": round(self.longest, 6),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Site:
        return cls(
            filename=data.get("file"),
            lineno=data.get("line"),
            code=data.get("code"),
            source_line=data.get("source") or "",
            advice=data.get("advice") or "",
            step=data.get("step"),
            workflow=data.get("workflow"),
            coroutine=data.get("coroutine"),
            function=data.get("function"),
            call=data.get("call"),
            tests=set(data.get("tests") or ()),
            hits=int(data.get("hits") or 0),
            longest=float(data.get("longest_seconds") or 0.0),
        )


class SiteBook:
    """Blocking sites seen so far, keyed by (file, line, code)."""

    def __init__(self, rootpath: Path | None = None) -> None:
        self._sites: dict[tuple[Any, ...], Site] = {}
        self._root = rootpath

    def __len__(self) -> int:
        return len(self._sites)

    def add_report(self, report: Any, nodeid: str) -> Site:
        site = Site(
            filename=self._display_path(getattr(report, "filename", None)),
            lineno=getattr(report, "lineno", None),
            code=getattr(report, "code", None),
            source_line=(getattr(report, "source_line", None) or "").strip(),
            advice=getattr(report, "advice", None) or "",
            step=getattr(report, "step", None),
            workflow=getattr(report, "workflow", None),
            coroutine=getattr(report, "coroutine", None),
            function=_function_at_site(report),
            call=getattr(report, "call", None),
            tests={nodeid},
            hits=1,
            longest=float(getattr(report, "duration", 0.0) or 0.0),
        )
        return self._merge(site)

    def merge_dicts(self, entries: Iterable[dict[str, Any]]) -> None:
        for entry in entries:
            self._merge(Site.from_dict(entry))

    def _merge(self, site: Site) -> Site:
        known = self._sites.get(site.key)
        if known is None:
            self._sites[site.key] = site
            return site
        known.merge(site)
        return known

    def sites(self) -> list[Site]:
        """Worst first: the longest block, then the most tests."""
        return sorted(
            self._sites.values(),
            key=lambda s: (-s.longest, -len(s.tests), s.filename or "", s.lineno or 0),
        )

    def tests(self) -> set[str]:
        hit: set[str] = set()
        for site in self._sites.values():
            hit |= site.tests
        return hit

    def to_dicts(self) -> list[dict[str, Any]]:
        return [site.to_dict() for site in self.sites()]

    def _display_path(self, filename: str | None) -> str | None:
        if not filename or self._root is None:
            return filename
        try:
            return Path(filename).resolve().relative_to(self._root.resolve()).as_posix()
        except (ValueError, OSError):
            return filename


def _function_at_site(report: Any) -> str | None:
    """Name of the innermost sampled frame at the report's blocking line."""
    filename, lineno = getattr(report, "filename", None), getattr(report, "lineno", None)
    for frame in reversed(list(getattr(report, "stack", None) or ())):
        if getattr(frame, "filename", None) == filename and getattr(frame, "lineno", None) == lineno:
            return getattr(frame, "name", None)
    return None


def summary_lines(book: SiteBook, settings_text: str) -> list[str]:
    lines: list[str] = []
    for site in book.sites():
        code = site.code or "unclassified"
        head = f"{site.location()} {code} in {site.where()}"
        if site.source_line:
            head += f": {site.source_line}"
        lines.append(head)
        count = len(site.tests)
        detail = f"    {count} test{'s' if count != 1 else ''}, longest block {format_duration(site.longest)}"
        if site.advice:
            detail += f"; {site.advice}"
        lines.append(detail)
    sites, tests = len(book), len(book.tests())
    lines.append(
        f"{sites} blocking site{'s' if sites != 1 else ''} in {tests} test{'s' if tests != 1 else ''} ({settings_text})"
    )
    return lines


def report_document(book: SiteBook, settings: dict[str, Any]) -> dict[str, Any]:
    return {
        "tool": "wfasync",
        "schema_version": SCHEMA_VERSION,
        "settings": settings,
        "site_count": len(book),
        "tests_blocked": sorted(book.tests()),
        "sites": book.to_dicts(),
    }


def write_json_atomically(path: Path, document: dict[str, Any]) -> None:
    """Write to a temporary file beside ``path`` and rename it over: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(document, indent=2) + "\n").encode("utf-8")
    # Beside the target, because a rename is atomic only within one file system; created with
    # the umask's permissions (not mkstemp's 0600), as a plain open() of the report would be.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
