"""Checking many files: cache look-ups, the cheap pre-check, then the analyzer on both cores.

:func:`check_project` is a ``wfasync check`` run: each file is read, decoded and parsed with
``ast`` once, and that one parse answers both the cheap pre-check and the project index's
question (which project names do its coroutines call); the index (cross-module call graph for
WFA201) is then built once, from those answers, summarising only the modules those names
reach; then the files that might block are analysed, each with one libcst parse that also
serves to mark what ``wfasync fix`` can rewrite. Reading runs in a forked process pool when the
files are many (parsing holds the GIL, so threads would not help), and libcst is imported
meanwhile; the files to analyse are parsed by workers of their own while the index is built
(:mod:`flake8_wfasync.app.parse_ahead`), or, in one process, reuse what summarising parsed.
Workers inherit sources and settings instead of having them pickled.

:func:`index_tag` (the index's ``digest_for(path)``) is stored with each
cached result, so a change elsewhere in the project re-analyses exactly the files it affects.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..analysis.def_spans import def_spans
from ..analysis.precheck import might_block_tree, needs_values, value_questions
from ..analysis.project_index import ProjectIndex, build_project_index, warn_no_index
from ..config import Config, analysis_config
from ..knowledge.findings import Finding
from ..source import SourceParseError, decode_source, parse_quietly
from ..workers import can_fork, default_jobs, fork_map
from .cache import ResultCache, content_digest, make_key, tree_digest
from .file_check import SKIPPED, FileJob, analyse_job, finding_from_dict, without_coroutines

if TYPE_CHECKING:
    from .parse_ahead import ParseAhead

__all__ = ["CheckResult", "FileError", "build_project_index", "check_cached", "check_paths", "check_project",
           "index_tag"]

PARALLEL_THRESHOLD = 24  # below this many files to analyse, a pool costs more than it saves


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


def index_tag(index: ProjectIndex | None, path: str) -> str:
    """What the index knows that can change the findings of ``path`` ("" without an index)."""
    return index.digest_for(path) if index is not None else ""


# --- many files -----------------------------------------------------------------------------


def check_cached(
    files: Sequence[Path],
    project: Sequence[Path],
    config: Config,
    *,
    cache_dir: Path | None,
    jobs: int | None = None,
) -> tuple[CheckResult, ProjectIndex | None, bool]:
    """A ``wfasync check`` run with the results cache in ``cache_dir`` (None: no cache).
    Returns the result, the project index (None when none was built) and whether the tree was
    unchanged since the last run, so that no index was needed."""
    cache = tree = None
    if cache_dir is not None:
        acfg = analysis_config(config)
        cache = ResultCache.open(cache_dir, make_key(acfg.scope, sorted(acfg.extra_blocking.items()),
                                                      sorted(acfg.allow)))
        # The index reads every project file: all of them must be unchanged, not only the checked.
        tree = tree_digest(sorted({os.path.abspath(f) for f in (*files, *project)}))
    # The same files with the same sizes and mtimes as last time: every cached result stands,
    # and the project index (a function of those files) need not be built at all.
    if cache is not None and tree is not None and cache.tree == tree:
        result = check_paths(files, config, cache=cache, jobs=jobs, unchanged_tree=True)
        if not (result.files_analysed or result.skipped_by_precheck or result.errors):
            cache.save()
            return result, None, True
        # A file changed under us, or an earlier result was not cached: do it properly.
    # Module summaries of the project index are kept in the cache folder too.
    result, index = check_project(files, project, config, cache=cache, cache_dir=cache_dir, jobs=jobs)
    if cache is not None:
        if tree is not None and cache.tree != tree:
            cache.tree, cache.dirty = tree, True
        cache.save()
    return result, index, False


def check_project(
    files: Sequence[Path],
    project: Sequence[Path],
    config: Config,
    *,
    cache: ResultCache | None = None,
    cache_dir: Path | None = None,
    jobs: int | None = None,
) -> tuple[CheckResult, ProjectIndex | None]:
    """Check ``files`` with the project index of ``project`` (a superset of ``files``); returns
    the result and the index (None when it could not be built).

    One read and one ``ast`` parse per file serve the index (which project names the file's
    coroutines call), the pre-check and the analysis; a module that summarising parsed with
    libcst is not parsed again to be analysed."""
    acfg = analysis_config(config)
    try:
        building = ProjectIndex.start(project, config, cache_dir)
    except Exception as exc:  # noqa: BLE001 - the per-file analysis still runs
        warn_no_index(exc)
        return check_paths(files, config, cache=cache, jobs=jobs), None
    prepared: dict[str, FileJob] = {}
    to_scan: list[str] = []
    for path in files:
        shown = str(path)
        if shown not in prepared and not building.knows(shown):
            # (What a known file calls is in the cache folder: it is read only if the results
            # cache has nothing for it.)
            prepared[shown] = None  # type: ignore[assignment]
            to_scan.append(shown)
    for shown, job in zip(to_scan, _scan_all(to_scan, acfg, building, jobs), strict=True):
        if job is None:
            del prepared[shown]
        else:
            building.record(shown, job.demand)
            if job.values is not None:
                building.adopt_values(shown, job.values, job.text)
                job.values = None
            prepared[shown] = job
    for job in prepared.values():
        if job.questions is not None:
            if needs_values(job.questions, building):
                job.pre = None  # the analysis runs the pre-check again, with the linked index
            job.questions = None
    ahead_jobs = [j for j in prepared.values() if j.pre]
    ahead = _parse_ahead(ahead_jobs, acfg, jobs)
    # Without workers parsing ahead, summarising keeps what it parses of the files to analyse.
    keep = [] if ahead is not None else [os.path.abspath(j.path) for j in ahead_jobs]
    index: ProjectIndex | None = building
    try:
        # Workers parsing ahead already take the other cores: a pool of summarisers as well
        # would only add forks, copies of the index and caches made twice.
        building.finish(jobs=1 if jobs == 1 or ahead is not None else None, keep=keep)
    except Exception as exc:  # noqa: BLE001
        warn_no_index(exc)
        index = None
    for job in prepared.values():
        if job.outcome is None and job.pre is False:
            # Through the project only: worth a closer look if a name it calls blocks.
            if index is not None and any(index.chain(q) is not None for q in job.demand or ()):
                job.pre = True
            else:
                job.outcome = dict(SKIPPED)
    try:
        result = check_paths(files, config, cache=cache, jobs=jobs, index=index, prepared=prepared, ahead=ahead)
    finally:
        if ahead is not None:
            ahead.close()
    return result, index


def _parse_ahead(jobs: list[FileJob], config: Config, workers: int | None) -> ParseAhead | None:
    """Workers that parse the files to analyse while the index is built, when they pay."""
    workers = default_jobs() if workers is None or workers <= 0 else workers
    if workers <= 1 or len(jobs) < PARALLEL_THRESHOLD or not can_fork():
        return None
    _import_analysis()  # once here: the forked workers inherit it
    from .parse_ahead import ParseAhead

    return ParseAhead.start(config, jobs, workers)


def _import_analysis() -> None:
    """Import the analysis and the fixer (libcst with them): before forking, so that workers
    inherit them, or while workers scan, so that the import costs no time of its own."""
    from ..analysis import summaries, walker  # noqa: F401
    from ..fix import plan  # noqa: F401


def _scan(shown: str, config: Config, index: ProjectIndex) -> FileJob | None:
    """Read one file and tell the index what its coroutines call; the pre-check (without the
    index) runs on the same ``ast`` tree, which also gives the facts other modules may ask of
    this one (:meth:`ProjectIndex.learn_values`). None: unreadable (reported by the check)."""
    try:
        st = os.stat(shown)
        with open(shown, "rb") as fh:
            source = fh.read()
    except OSError:
        return None
    job = FileJob(shown, source, st=st, digest=content_digest(source))
    tree = None
    try:
        job.text = decode_source(source)
        tree = parse_quietly(job.text, shown)
    except (SourceParseError, SyntaxError, ValueError, RecursionError, MemoryError):
        tree = None  # the analysis reports it
    coroutines = job.text is not None and "async" in job.text
    if tree is not None:
        job.values = index.learn_values(shown, tree, job.text)
    if not coroutines:
        if job.text is not None:
            # (Parsed again only when broken: the outcome says why.)
            job.outcome = dict(SKIPPED) if tree is not None else without_coroutines(job.text, shown)
        tree = None
    job.demand = index.demand_of(shown, tree)
    if tree is not None:
        try:
            job.pre = bool(might_block_tree(tree, job.text, config, None, shown))
            if not job.pre:
                # Whether the values of other modules matter is known once every file's are
                # (check_project asks): none is read here.
                job.questions = value_questions(tree, job.text, config, index, shown)
        except Exception:  # noqa: BLE001 - the analysis runs the pre-check again and reports
            job.pre = None
        if job.pre:
            job.tree = tree
            job.spans = def_spans(tree)
    return job


SCAN_PARALLEL_THRESHOLD = 128  # files to read and parse before a pool pays for itself


def _scan_all(paths: list[str], config: Config, index: ProjectIndex, jobs: int | None) -> list[FileJob | None]:
    """:func:`_scan` of every file, in forked workers when there are many (the ast trees stay
    in the workers: the analysis parses the few files it needs again). Meanwhile this process
    imports what the rest of the run needs (libcst costs as much as scanning a hundred files)."""
    workers = default_jobs() if jobs is None or jobs <= 0 else jobs
    if len(paths) < SCAN_PARALLEL_THRESHOLD:
        workers = 1
    return fork_map(_scan_in_worker, paths, (config, index), workers,
                    chunksize=len(paths) // (workers * 8), meanwhile=_import_analysis)


def _scan_in_worker(state: tuple[Config, ProjectIndex], path: str) -> FileJob | None:
    config, index = state
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
    index: ProjectIndex | None = None,
    unchanged_tree: bool = False,
    prepared: dict[str, FileJob] | None = None,
    ahead: ParseAhead | None = None,
) -> CheckResult:
    """Check ``files``. ``unchanged_tree``: the cache saw exactly these files, sizes and mtimes
    last time, so its results stand as they are, index tags included (no index is built).
    ``prepared``: files already read (and maybe parsed) by :func:`check_project`; ``ahead``:
    its workers, parsing some of them already (:class:`parse_ahead.ParseAhead`)."""
    result = CheckResult()
    acfg = analysis_config(config)
    raw: dict[str, dict[str, Any]] = {}
    todo: list[FileJob] = []
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
        todo.append(FileJob(shown, source, st=st, digest=digest))

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


def _analyse_all(items: list[FileJob], config: Config, index: ProjectIndex | None,
                 jobs: int | None) -> list[dict[str, Any]]:
    workers = default_jobs() if jobs is None or jobs <= 0 else jobs
    if len(items) < PARALLEL_THRESHOLD:
        workers = 1
    else:
        _import_analysis()  # once here: the forked workers inherit it
    # Largest first, one file per task: the pool balances uneven files by itself.
    order = sorted(range(len(items)), key=lambda i: -len(items[i].source))
    done = fork_map(_analyse_in_worker, order, (config, index, items), workers)
    by_index = dict(zip(order, done, strict=True))
    return [by_index[i] for i in range(len(items))]


def _analyse_in_worker(state: tuple[Config, ProjectIndex | None, list[FileJob]], i: int) -> dict[str, Any]:
    config, index, items = state
    return analyse_job(items[i], config, index)
