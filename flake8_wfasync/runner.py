"""Checking many files: cache look-ups, the cheap pre-check, then the analyzer on both cores.

The parent process stats, reads and hashes every file (cheap) and answers what it can from the
cache; only files that changed and might block are analysed, sequentially when they are few,
in a process pool when they are many (libcst parsing holds the GIL, so threads would not help).

Whole-project analysis: :func:`build_project_index` is the one place a project-wide index
(cross-module call graph for WFA201) is built, once per run, before any file is analysed. The
index is handed to every worker once (pool initializer) and passed to the analyzer for each
file; :func:`index_tag` (the index's ``digest_for(path)``, else its ``digest``) is stored with each
cached result, so a change elsewhere in the project re-analyses exactly the files it affects.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cache import ResultCache, content_digest
from .config import Config
from .findings import Finding

PARALLEL_THRESHOLD = 24  # below this many files to analyse, a pool costs more than it saves

_NOQA = re.compile(r"#\s*noqa(?::[\s]?(?P<codes>[A-Z][0-9]+(?:[,\s]+[A-Z][0-9]+)*))?", re.IGNORECASE)


_LINE_END = re.compile(r"\r\n|\r|\n")


def source_lines(text: str) -> list[str]:
    """The lines of a source text as Python numbers them. ``str.splitlines`` also breaks at
    form feeds, U+2028 and other characters that do not end a line of code, which would put
    findings (and their ``# noqa``) on the wrong line."""
    lines = _LINE_END.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


@dataclass(frozen=True)
class FileError:
    """A file that could not be checked: unreadable, undecodable or not valid Python."""

    path: str
    line: int
    col: int
    message: str
    internal: bool = False  # a bug in the analyzer rather than in the checked file

    def text(self) -> str:
        return f"{self.path}:{self.line}:{self.col + 1}: error: {self.message}"


@dataclass
class CheckResult:
    findings: list[Finding] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    # path -> {line number: source text}, for the lines that carry findings.
    lines: dict[str, dict[int, str]] = field(default_factory=dict)
    files_checked: int = 0
    files_analysed: int = 0
    cache_hits: int = 0
    skipped_by_precheck: int = 0
    # (path, line, col, code) of findings that `wfasync fix` rewrites.
    fixable: set[tuple[str, int, int, str]] = field(default_factory=set)


def analysis_config(config: Config) -> Config:
    """The settings the analyzer sees: select/ignore are applied afterwards, so that toggling
    them reuses cached results."""
    return dataclasses.replace(config, select=frozenset(), ignore=frozenset(), exclude=())


def build_project_index(files: Sequence[Path], config: Config, cache_dir: Path | None = None) -> Any | None:
    """The project-wide index for cross-module analysis, or None while the analyzer has none.

    Contract for the index: picklable; ``analyze_source``/``analyze_module`` accept it as
    ``index=``; it has ``digest_for(path) -> str`` (what it knows that can change the findings
    of that file, e.g. the summaries of the project modules it imports) or at least a ``digest``
    for the whole index. The callgraph module provides it as
    ``callgraph.build_project_index(files, config)``. It is built on every run, warm ones too,
    so it should be cheap when nothing changed (e.g. keep per-module summaries keyed by content).
    """
    try:
        from .callgraph import build_project_index as build  # type: ignore[attr-defined]
    except ImportError:
        return None
    try:
        return build(list(files), config, cache_dir=cache_dir)
    except Exception as exc:  # the per-file analysis still runs; say what is missing, once
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        print(f"wfasync: warning: no project index ({detail}); WFA201 is checked within each file only",
              file=sys.stderr)
        return None


def index_tag(index: Any, path: str) -> str:
    if index is None:
        return ""
    digest_for = getattr(index, "digest_for", None)
    if digest_for is not None:
        return str(digest_for(path))
    return str(getattr(index, "digest", ""))


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    out = {}
    for f in dataclasses.fields(Finding):
        if f.name != "node":
            out[f.name] = getattr(finding, f.name)
    return out


def finding_from_dict(data: dict[str, Any]) -> Finding:
    names = {f.name for f in dataclasses.fields(Finding)}
    return Finding(**{k: v for k, v in data.items() if k in names})


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
    codes = noqa_codes(line)
    if codes is None:
        return False
    return not codes or any(code.startswith(c) for c in codes)


# --- one file -------------------------------------------------------------------------------

_worker_state: tuple[Config, Any] | None = None


def _init_worker(config: Config, index: Any) -> None:
    global _worker_state
    _worker_state = (config, index)


def analyze_bytes(
    path: str, source: bytes, config: Config, index: Any = None, precheck: bool = True
) -> dict[str, Any]:
    """Analyse one file's content; the result is plain data (cacheable, picklable).

    One ``ast`` parse serves the cheap pre-check and the analysis; a file the pre-check clears
    is never parsed by libcst and comes back as ``{"skipped": True}``. Findings that
    ``wfasync fix`` would rewrite carry ``"fixable": True``."""
    import ast

    from .analyzer import SourceParseError, analyze_text, decode_source, might_block_tree

    try:
        try:
            text = decode_source(source)
        except SourceParseError as exc:
            raise SourceParseError(path, exc.line, exc.col, exc.msg) from None
        if precheck and "async" not in text:
            return {"findings": [], "lines": {}, "error": None, "skipped": True}
        try:
            tree = ast.parse(text, filename=path)
        except SyntaxError as exc:
            raise SourceParseError(path, exc.lineno or 1, max((exc.offset or 1) - 1, 0),
                                   exc.msg or "invalid syntax") from None
        except ValueError as exc:  # null bytes
            raise SourceParseError(path, 1, 0, str(exc)) from None
        if precheck and not might_block_tree(tree, text, config, index, path):
            return {"findings": [], "lines": {}, "error": None, "skipped": True}
        findings = analyze_text(text, tree, path, config, index)
    except SourceParseError as exc:
        return {"findings": [], "lines": {}, "error": _parse_error(exc)}
    except (RecursionError, MemoryError):
        return {"findings": [], "lines": {}, "error": {"line": 1, "col": 0, "message": "too deeply nested to analyse"}}
    except Exception as exc:  # a bug of ours: one line, the run goes on
        return {
            "findings": [],
            "lines": {},
            "error": {"line": 1, "col": 0, "message": f"internal error in the analyzer: {type(exc).__name__}: {exc}",
                      "internal": True},
        }
    if not findings:
        return {"findings": [], "lines": {}, "error": None}
    text_lines = source_lines(text)
    kept: list[dict[str, Any]] = []
    lines: dict[str, str] = {}
    for finding in findings:
        line = text_lines[finding.line - 1] if 0 < finding.line <= len(text_lines) else ""
        if suppressed(finding.code, line):
            continue
        kept.append(finding_to_dict(finding))
        lines[str(finding.line)] = line
    if kept:
        fixable = _fixable(text, path, config, index)
        for data in kept:
            data["fixable"] = (data["code"], data["line"], data["col"]) in fixable
    return {"findings": kept, "lines": lines, "error": None}


def _fixable(text: str, path: str, config: Config, index: Any) -> set[tuple[str, int, int]]:
    """(code, line, col) of the findings ``wfasync fix`` would rewrite in this file."""
    try:
        from .fixes import fixable_findings

        return fixable_findings(text, path, config, index)
    except Exception:  # knowing what is fixable is a nicety; never lose the findings over it
        return set()


def _parse_error(exc: Exception) -> dict[str, Any]:
    line = getattr(exc, "line", None) or 1
    col = getattr(exc, "col", None) or 0
    msg = getattr(exc, "msg", None) or str(exc)
    msg = " ".join(str(msg).split())  # always one line
    return {"line": int(line), "col": int(col), "message": f"cannot parse: {msg}"}


def _decode(source: bytes) -> str:
    try:
        return source.decode("utf-8-sig")
    except UnicodeDecodeError:
        return source.decode("latin-1")


def _work_chunk(items: list[tuple[str, bytes]]) -> list[dict[str, Any]]:
    assert _worker_state is not None
    config, index = _worker_state
    return [analyze_bytes(path, source, config, index) for path, source in items]


# --- many files -----------------------------------------------------------------------------


def check_paths(
    files: Iterable[Path],
    config: Config,
    *,
    cache: ResultCache | None = None,
    jobs: int | None = None,
    index: Any = None,
    unchanged_tree: bool = False,
) -> CheckResult:
    """Check ``files``. ``unchanged_tree``: the cache saw exactly these files, sizes and mtimes
    last time, so its results stand as they are, index tags included (no index is built)."""
    result = CheckResult()
    acfg = analysis_config(config)
    raw: dict[str, dict[str, Any]] = {}
    todo: list[tuple[str, bytes, os.stat_result, str]] = []
    for path in files:
        shown = str(path)
        result.files_checked += 1
        key = os.path.abspath(shown)
        tag: str | None = None if unchanged_tree else index_tag(index, shown)
        try:
            st = os.stat(shown)
            if cache is not None:
                hit = cache.by_stat(key, st, tag)
                if hit is not None:
                    raw[shown] = hit
                    result.cache_hits += 1
                    continue
            with open(shown, "rb") as fh:
                source = fh.read()
        except OSError as exc:
            raw[shown] = {"findings": [], "lines": {}, "error": {"line": 1, "col": 0,
                                                                 "message": f"cannot read: {exc.strerror or exc}"}}
            continue
        digest = content_digest(source)
        if cache is not None:
            hit = cache.by_content(key, st, digest, tag)
            if hit is not None:
                raw[shown] = hit
                result.cache_hits += 1
                continue
        todo.append((shown, source, st, digest))

    # Only now is the analyzer (and libcst) imported: a tree answered from the cache never needs it.
    outcomes = _analyse_all([(p, s) for p, s, _, _ in todo], acfg, index, jobs) if todo else []
    for (shown, _source, st, digest), outcome in zip(todo, outcomes, strict=True):
        if outcome.pop("skipped", False):
            result.skipped_by_precheck += 1
        else:
            result.files_analysed += 1
        raw[shown] = outcome
        if cache is not None and not (outcome.get("error") or {}).get("internal"):
            cache.store(os.path.abspath(shown), st, digest, outcome, index_tag(index, shown) if tag is None else tag)

    for shown in sorted(raw):
        outcome = raw[shown]
        error = outcome.get("error")
        if error:
            result.errors.append(FileError(shown, error["line"], error["col"], error["message"],
                                           bool(error.get("internal"))))
        kept_lines: dict[int, str] = {}
        for data in outcome.get("findings", ()):
            if not config.code_enabled(data["code"]):
                continue
            finding = finding_from_dict({**data, "path": shown})
            result.findings.append(finding)
            if data.get("fixable"):
                result.fixable.add((shown, finding.line, finding.col, finding.code))
            kept_lines[finding.line] = outcome.get("lines", {}).get(str(finding.line), "")
        if kept_lines:
            result.lines[shown] = kept_lines
    result.findings.sort(key=lambda f: (f.path, f.line, f.col, f.code))
    return result


def default_jobs() -> int:
    try:
        count = len(os.sched_getaffinity(0))  # type: ignore[attr-defined]
    except AttributeError:  # pragma: no cover - not Linux
        count = os.cpu_count() or 1
    return max(1, count)


def _analyse_all(items: list[tuple[str, bytes]], config: Config, index: Any, jobs: int | None) -> list[dict[str, Any]]:
    workers = default_jobs() if jobs is None or jobs <= 0 else jobs
    if workers <= 1 or len(items) < PARALLEL_THRESHOLD:
        return [analyze_bytes(path, source, config, index) for path, source in items]
    # Few, similar-sized chunks per worker: enough to balance uneven files, few enough that
    # pickling overhead stays small.
    from concurrent.futures import ProcessPoolExecutor

    from . import analyzer  # noqa: F401  (imported once here; forked workers inherit it)

    n_chunks = min(len(items), workers * 4)
    chunks = [items[i::n_chunks] for i in range(n_chunks)]
    try:
        with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(config, index)) as pool:
            chunk_results = list(pool.map(_work_chunk, chunks))
    except (OSError, RuntimeError):  # no processes available here: do it in this one
        return [analyze_bytes(path, source, config, index) for path, source in items]
    by_path: dict[str, dict[str, Any]] = {}
    for chunk, outcomes in zip(chunks, chunk_results, strict=True):
        for (path, _), outcome in zip(chunk, outcomes, strict=True):
            by_path[path] = outcome
    return [by_path[path] for path, _ in items]
