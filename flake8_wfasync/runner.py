"""Checking many files: cache look-ups, the cheap pre-check, then the analyzer on both cores.

:func:`check_project` is a ``wfasync check`` run: each file is read, decoded and parsed with
``ast`` once, and that one parse answers both the cheap pre-check and the project index's
question (which project names do its coroutines call); the index (cross-module call graph for
WFA201) is then built once, from those answers, summarising only the modules those names
reach; then the files that might block are analysed, each with one libcst parse that also
serves to mark what ``wfasync fix`` can rewrite. Reading runs in a forked process pool when the
files are many (parsing holds the GIL, so threads would not help), and libcst is imported
meanwhile; the files to analyse are parsed by workers of their own while the index is built
(:mod:`flake8_wfasync.parse_ahead`), or, in one process, reuse what summarising parsed.
Workers inherit sources and settings instead of having them pickled.

:func:`index_tag` (the index's ``digest_for(path)``, else its ``digest``) is stored with each
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
from .forking import can_fork

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


@dataclass(eq=False)
class _Job:
    """A file to analyse, with whatever the scan before the project index already did for it."""

    path: str
    source: bytes
    text: str | None = None  # decoded, when the scan got that far
    tree: Any = None  # its ast tree, kept only for files the pre-check lets through
    pre: bool | None = None  # the pre-check without the index; None: not run
    demand: list[str] | None = None  # the project names its coroutines call
    st: os.stat_result | None = None
    digest: str = ""
    outcome: dict[str, Any] | None = None  # settled by the scan (no coroutine, say)
    module: Any = None  # its libcst module, when a worker parsed it ahead


_SKIPPED: dict[str, Any] = {"findings": [], "lines": {}, "error": None, "skipped": True}


def analyze_bytes(
    path: str, source: bytes, config: Config, index: Any = None, precheck: bool = True
) -> dict[str, Any]:
    """Analyse one file's content; the result is plain data (cacheable, picklable).

    One ``ast`` parse serves the cheap pre-check and the analysis, and one libcst parse the
    analysis and the question of what ``wfasync fix`` can rewrite; a file the pre-check clears
    is never parsed by libcst and comes back as ``{"skipped": True}``. Findings that
    ``wfasync fix`` would rewrite carry ``"fixable": True``."""
    return _analyse(_Job(path, source), config, index, precheck)


def _analyse(job: _Job, config: Config, index: Any, precheck: bool = True) -> dict[str, Any]:
    from .analyzer import (
        SourceParseError,
        _cst_parse,
        analyze_module,
        decode_source,
        might_block_tree,
    )
    from .precheck import parse_quietly

    path = job.path
    try:
        text = job.text
        if text is None:
            try:
                text = decode_source(job.source)
            except SourceParseError as exc:
                raise SourceParseError(path, exc.line, exc.col, exc.msg) from None
        if precheck and "async" not in text:
            return dict(_SKIPPED)
        tree = job.tree
        if tree is None and job.pre is None:
            # (A file the scan parsed and pre-checked needs its tree again only if it has
            # findings to place: the analyzer parses it then.)
            try:
                tree = parse_quietly(text, path)
            except SyntaxError as exc:
                raise SourceParseError(path, exc.lineno or 1, max((exc.offset or 1) - 1, 0),
                                       exc.msg or "invalid syntax") from None
            except ValueError as exc:  # null bytes
                raise SourceParseError(path, 1, 0, str(exc)) from None
        if precheck and job.pre is None and not might_block_tree(tree, text, config, index, path):
            return dict(_SKIPPED)
        module = job.module
        if module is None:
            take = getattr(index, "take_parsed", None)
            module = take(path, text) if take is not None else None
        if module is None:
            module = _cst_parse(text, path)
        watch = getattr(index, "watch", None)
        if watch is not None:
            watch()
        try:
            findings = analyze_module(module, path, config, index, tree=tree, text=text)
        finally:
            late = index.watched(path) if watch is not None else None
    except SourceParseError as exc:
        return {"findings": [], "lines": {}, "error": _parse_error(exc)}
    except (RecursionError, MemoryError):
        return {"findings": [], "lines": {}, "error": {"line": 1, "col": 0, "message": "too deeply nested to analyse"}}
    except Exception as exc:  # noqa: BLE001 - a bug of ours: one line, the run goes on
        return {
            "findings": [],
            "lines": {},
            "error": {"line": 1, "col": 0, "message": f"internal error in the analyzer: {type(exc).__name__}: {exc}",
                      "internal": True},
        }
    extra: dict[str, Any] = {"late": late} if late else {}  # (names, tag: see ProjectIndex.add_late)
    if not findings:
        return {"findings": [], "lines": {}, "error": None, **extra}
    text_lines = source_lines(text)
    kept: list[Finding] = []
    lines: dict[str, str] = {}
    for finding in findings:
        line = text_lines[finding.line - 1] if 0 < finding.line <= len(text_lines) else ""
        if suppressed(finding.code, line):
            continue
        kept.append(finding)
        lines[str(finding.line)] = line
    fixable = _fixable(module, kept) if kept else set()
    out = []
    for finding in kept:
        data = finding_to_dict(finding)
        data["fixable"] = (finding.code, finding.line, finding.col) in fixable
        out.append(data)
    return {"findings": out, "lines": lines, "error": None, **extra}


def _fixable(module: Any, findings: list[Finding]) -> set[tuple[str, int, int]]:
    """(code, line, col) of the findings that one ``wfasync fix`` pass rewrites
    (:func:`fixes.fixable_in`)."""
    try:
        from .fixes import fixable_in

        return fixable_in(module, findings)
    except Exception:  # noqa: BLE001 - knowing what is fixable is a nicety; never lose the findings over it
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


# --- many files -----------------------------------------------------------------------------


def check_project(
    files: Sequence[Path],
    project: Sequence[Path],
    config: Config,
    *,
    cache: ResultCache | None = None,
    cache_dir: Path | None = None,
    jobs: int | None = None,
) -> tuple[CheckResult, Any]:
    """Check ``files`` with the project index of ``project`` (a superset of ``files``); returns
    the result and the index (None when it could not be built).

    One read and one ``ast`` parse per file serve the index (which project names the file's
    coroutines call), the pre-check and the analysis; a module that summarising parsed with
    libcst is not parsed again to be analysed."""
    acfg = analysis_config(config)
    try:
        from .project_index import ProjectIndex

        index = ProjectIndex.start(project, config, cache_dir)
    except Exception as exc:  # noqa: BLE001 - the per-file analysis still runs
        _no_index(exc)
        return check_paths(files, config, cache=cache, jobs=jobs), None
    prepared: dict[str, _Job] = {}
    to_scan: list[str] = []
    for path in files:
        shown = str(path)
        if shown not in prepared and not index.knows(shown):
            # (What a known file calls is in the cache folder: it is read only if the results
            # cache has nothing for it.)
            prepared[shown] = None  # type: ignore[assignment]
            to_scan.append(shown)
    for shown, job in zip(to_scan, _scan_all(to_scan, acfg, index, jobs), strict=True):
        if job is None:
            del prepared[shown]
        else:
            index.record(shown, job.demand)
            prepared[shown] = job
    ahead_jobs = [j for j in prepared.values() if j.pre]
    ahead = _parse_ahead(ahead_jobs, acfg, jobs)
    # Without workers parsing ahead, summarising keeps what it parses of the files to analyse.
    keep = [] if ahead is not None else [os.path.abspath(j.path) for j in ahead_jobs]
    try:
        index.finish(jobs=1 if jobs == 1 else None, keep=keep)
    except Exception as exc:  # noqa: BLE001
        _no_index(exc)
        index = None
    for job in prepared.values():
        if job.outcome is None and job.pre is False:
            # Through the project only: worth a closer look if a name it calls blocks.
            if index is not None and any(index.chain(q) is not None for q in job.demand or ()):
                job.pre = True
            else:
                job.outcome = dict(_SKIPPED)
    try:
        result = check_paths(files, config, cache=cache, jobs=jobs, index=index, prepared=prepared, ahead=ahead)
    finally:
        if ahead is not None:
            ahead.close()
    return result, index


def _parse_ahead(jobs: list[_Job], config: Config, workers: int | None) -> Any:
    """Workers that parse the files to analyse while the index is built, when they pay."""
    workers = default_jobs() if workers is None or workers <= 0 else workers
    if workers <= 1 or len(jobs) < PARALLEL_THRESHOLD or not can_fork():
        return None
    from . import analyzer, fixes  # noqa: F401  (imported once here; forked workers inherit them)
    from .parse_ahead import ParseAhead

    return ParseAhead.start(config, jobs, workers)


def _no_index(exc: Exception) -> None:
    detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
    print(f"wfasync: warning: no project index ({detail}); WFA201 is checked within each file only",
          file=sys.stderr)


def _scan(shown: str, config: Config, index: Any) -> _Job | None:
    """Read one file and tell the index what its coroutines call; the pre-check (without the
    index) runs on the same ``ast`` tree. None: unreadable (reported by the check)."""
    from .precheck import SourceParseError, decode_source, might_block_tree, parse_quietly

    try:
        st = os.stat(shown)
        with open(shown, "rb") as fh:
            source = fh.read()
    except OSError:
        return None
    job = _Job(shown, source, st=st, digest=content_digest(source))
    tree = None
    try:
        job.text = decode_source(source)
        if "async" not in job.text:
            job.outcome = dict(_SKIPPED)
        else:
            tree = parse_quietly(job.text, shown)
    except (SourceParseError, SyntaxError, ValueError, RecursionError, MemoryError):
        tree = None  # the analysis reports it
    job.demand = index.demand_of(shown, tree)
    if tree is not None:
        try:
            job.pre = bool(might_block_tree(tree, job.text, config, None, shown))
        except Exception:  # noqa: BLE001 - the analysis runs the pre-check again and reports
            job.pre = None
        if job.pre:
            job.tree = tree
    return job


SCAN_PARALLEL_THRESHOLD = 128  # files to read and parse before a pool pays for itself


def _scan_all(paths: list[str], config: Config, index: Any, jobs: int | None) -> list[_Job | None]:
    """:func:`_scan` of every file, in a forked pool when there are many (the ast trees stay
    in the workers: the analysis parses the few files it needs again)."""
    global _worker_state
    import multiprocessing

    workers = default_jobs() if jobs is None or jobs <= 0 else jobs
    if (workers <= 1 or len(paths) < SCAN_PARALLEL_THRESHOLD
            or not can_fork()):
        return [_scan(p, config, index) for p in paths]
    from concurrent.futures import ProcessPoolExecutor

    from . import precheck  # noqa: F401  (imported once here; forked workers inherit it)

    _worker_state = (config, index, [])
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
            found = pool.map(_scan_in_worker, paths, chunksize=max(1, len(paths) // (workers * 8)))
            # The workers are forked: meanwhile this process imports what the rest of the run
            # needs (libcst costs as much as scanning a hundred files).
            from . import analyzer, callgraph, fixes  # noqa: F401
            return list(found)
    except (OSError, RuntimeError):  # no processes available here: do it in this one
        return [_scan(p, config, index) for p in paths]
    finally:
        _worker_state = None


def _scan_in_worker(path: str) -> _Job | None:
    assert _worker_state is not None
    config, index, _ = _worker_state
    job = _scan(path, config, index)
    if job is not None:
        job.tree = None  # not worth pickling: parsed again where it is analysed
    return job


def check_paths(
    files: Iterable[Path],
    config: Config,
    *,
    cache: ResultCache | None = None,
    jobs: int | None = None,
    index: Any = None,
    unchanged_tree: bool = False,
    prepared: dict[str, _Job] | None = None,
    ahead: Any = None,
) -> CheckResult:
    """Check ``files``. ``unchanged_tree``: the cache saw exactly these files, sizes and mtimes
    last time, so its results stand as they are, index tags included (no index is built).
    ``prepared``: files already read (and maybe parsed) by :func:`check_project`; ``ahead``:
    its workers, parsing some of them already (:class:`parse_ahead.ParseAhead`)."""
    result = CheckResult()
    acfg = analysis_config(config)
    raw: dict[str, dict[str, Any]] = {}
    todo: list[_Job] = []
    prepared = prepared or {}
    for path in files:
        shown = str(path)
        result.files_checked += 1
        key = os.path.abspath(shown)
        tag: str | None = None if unchanged_tree else index_tag(index, shown)
        job = prepared.get(shown)
        if job is not None and job.st is not None:
            if cache is not None:
                hit = cache.by_content(key, job.st, job.digest, tag)
                if hit is not None:
                    raw[shown] = hit
                    result.cache_hits += 1
                    continue
            todo.append(job)
            continue
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
        todo.append(_Job(shown, source, st=st, digest=digest))

    # Only now is the analyzer (and libcst) imported: a tree answered from the cache never needs it.
    work = [j for j in todo if j.outcome is None]
    if ahead is not None:
        outcomes = ahead.results(work, index)
    else:
        outcomes = dict(zip(map(id, work), _analyse_all(work, acfg, index, jobs), strict=True)) if work else {}
    late_seen = False
    for job in todo:
        shown = job.path
        outcome = dict(job.outcome) if job.outcome is not None else outcomes[id(job)]
        late = outcome.pop("late", None)
        if late and index is not None:
            index.add_late(shown, *late)  # before the tag is stored with the result
            late_seen = True
        if outcome.pop("skipped", False):
            result.skipped_by_precheck += 1
        else:
            result.files_analysed += 1
        raw[shown] = outcome
        if cache is not None and not (outcome.get("error") or {}).get("internal"):
            assert job.st is not None
            cache.store(os.path.abspath(shown), job.st, job.digest, outcome, index_tag(index, shown))

    if late_seen:
        index.save_late()
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


# Set in the parent just before the pool forks: the workers inherit the jobs (sources, ast
# trees, parsed modules) and the index instead of having them pickled.
_worker_state: tuple[Config, Any, list[_Job]] | None = None


def _work(i: int) -> dict[str, Any]:
    assert _worker_state is not None
    config, index, jobs = _worker_state
    return _analyse(jobs[i], config, index)


def _analyse_all(items: list[_Job], config: Config, index: Any, jobs: int | None) -> list[dict[str, Any]]:
    global _worker_state
    import multiprocessing

    workers = default_jobs() if jobs is None or jobs <= 0 else jobs
    if (workers <= 1 or len(items) < PARALLEL_THRESHOLD
            or not can_fork()):
        return [_analyse(job, config, index) for job in items]
    from concurrent.futures import ProcessPoolExecutor

    from . import analyzer, fixes  # noqa: F401  (imported once here; forked workers inherit them)

    # Largest first, one file per task: the pool balances uneven files by itself.
    order = sorted(range(len(items)), key=lambda i: -len(items[i].source))
    _worker_state = (config, index, items)
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
            done = dict(zip(order, pool.map(_work, order), strict=True))
    except (OSError, RuntimeError):  # no processes available here: do it in this one
        return [_analyse(job, config, index) for job in items]
    finally:
        _worker_state = None
    return [done[i] for i in range(len(items))]
