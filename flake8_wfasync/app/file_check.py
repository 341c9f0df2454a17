"""Checking one file, with whatever the scan before the project index already did for it.

The outcome is plain data (cacheable, picklable): findings as dictionaries, the source lines
that carry them, and the error that stopped the check, if any.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..analysis.precheck import might_block_tree
from ..config import Config
from ..knowledge.findings import Finding
from ..source import (
    SourceParseError,
    decode_source,
    parse_quietly,
    source_lines,
    suppressed,
)

if TYPE_CHECKING:
    import libcst as cst

    from ..analysis.project_index import ProjectIndex

__all__ = ["SKIPPED", "FileJob", "analyse_job", "finding_from_dict", "finding_to_dict", "without_coroutines"]


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    """A finding as plain data (cacheable, picklable, JSON): every field but the node."""
    out = {}
    for f in dataclasses.fields(Finding):
        if f.name != "node":
            out[f.name] = getattr(finding, f.name)
    return out


def finding_from_dict(data: dict[str, Any]) -> Finding:
    """The finding :func:`finding_to_dict` made, without its node."""
    names = {f.name for f in dataclasses.fields(Finding)}
    return Finding(**{k: v for k, v in data.items() if k in names})


@dataclass(eq=False)
class FileJob:
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
    values: Any = None  # what other modules may ask of it (ValueSource), learnt by the scan
    questions: Any = None  # what the pre-check would ask of other modules (value_questions)
    spans: Any = None  # where its defs lie (positions.def_spans), when the scan let it through


# The outcome of a file the pre-check clears.
SKIPPED: dict[str, Any] = {"findings": [], "lines": {}, "error": None, "skipped": True}


def without_coroutines(text: str, path: str) -> dict[str, Any]:
    """The outcome of a file with no ``async`` in it: nothing to analyse, but a file the user
    asked to check that does not parse is still an error to report (a syntax error must not
    pass for a clean file). An ``ast`` parse, no libcst."""
    try:
        parse_quietly(text, path)
    except SyntaxError as exc:
        return {"findings": [], "lines": {}, "error": _parse_error(SourceParseError(
            path, exc.lineno or 1, max((exc.offset or 1) - 1, 0), exc.msg or "invalid syntax"))}
    except ValueError as exc:  # null bytes
        return {"findings": [], "lines": {}, "error": _parse_error(SourceParseError(path, 1, 0, str(exc)))}
    except (RecursionError, MemoryError):
        pass  # it compiles or not, there is nothing in it to analyse
    return dict(SKIPPED)


def analyse_job(job: FileJob, config: Config, index: ProjectIndex | None) -> dict[str, Any]:
    """Analyse one file; the result is plain data (cacheable, picklable).

    One ``ast`` parse serves the cheap pre-check and the analysis, and one libcst parse the
    analysis and the question of what ``wfasync fix`` can rewrite; a file the pre-check clears
    is never parsed by libcst and comes back as ``{"skipped": True}``. Findings that
    ``wfasync fix`` would rewrite carry ``"fixable": True``."""
    from ..analysis.walker import analyze_module
    from ..source import cst_parse

    path = job.path
    try:
        text = job.text
        if text is None:
            try:
                text = decode_source(job.source)
            except SourceParseError as exc:
                raise SourceParseError(path, exc.line, exc.col, exc.msg) from None
        if "async" not in text:
            return without_coroutines(text, path)
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
        if job.pre is None and not might_block_tree(tree, text, config, index, path):
            return dict(SKIPPED)
        module = job.module
        if module is None and index is not None:
            module = index.take_parsed(path, text)
        if module is None:
            module = cst_parse(text, path)
        if index is not None:
            index.watch()
        try:
            # (Positions come from the ast of the text the module was parsed from: the defs
            # that hold findings are parsed alone when the scan said where each lies.)
            findings = analyze_module(module, path, config, index, tree=tree, text=text,
                                      spans=job.spans if tree is None else None)
        finally:
            late = index.watched(path) if index is not None else None
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


def _fixable(module: cst.Module, findings: list[Finding]) -> set[tuple[str, int, int]]:
    """(code, line, col) of the findings that one ``wfasync fix`` pass rewrites
    (:func:`flake8_wfasync.fix.fixable_in`)."""
    try:
        from ..fix.plan import fixable_in

        return fixable_in(module, findings)
    except Exception:  # noqa: BLE001 - knowing what is fixable is a nicety; never lose the findings over it
        return set()


def _parse_error(exc: SourceParseError) -> dict[str, Any]:
    msg = " ".join(str(exc.msg or exc).split())  # always one line
    return {"line": exc.line or 1, "col": exc.col or 0, "message": f"cannot parse: {msg}"}
