"""Run the static side over every .py file of the standard library and of large real packages.

    python bench/sweep_static.py [--quick] [--jobs N] [--no-packages]

The packages are released wheels fetched once with ``pip download`` (pinned, never installed
or imported) by ``bench/_corpus.py``; this sweep adds a few more, async-heavy ones to its pins.
Each file goes through every entry point a user reaches:

- ``analyze_source`` on the raw bytes (decoding, pre-check, analysis), as ``wfasync check``;
- the flake8 plugin on the ``ast`` tree and lines flake8 would hand it;
- ``analyze_module`` without the pre-check: it must find at least what the pre-checked run found;
- the runtime's line lookup (``blocking_calls_on_line``) on each line with a finding.

The last three run on files that mention ``async`` (in the others there is no coroutine to
look into, and a file without one must come out of ``analyze_source`` with no finding).

A file that Python cannot read must raise ``SourceParseError`` (and the plugin must stay
quiet); so may ``analyze_module`` for the rare valid file libcst cannot handle (counted as
"libcst no"); any other exception is a crash. Prints files, parse errors, findings per code and
crashes; exit status 1 on any crash.
"""

from __future__ import annotations

import argparse
import ast
import collections
import multiprocessing
import sys
import sysconfig
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import _corpus

# Beyond the lint corpus: async frameworks and clients (where the findings are) and two
# large synchronous code bases (where the pre-check and the resolver see the most code).
EXTRA_PINS: tuple[str, ...] = (
    "django==5.1.4",
    "sqlalchemy==2.0.36",
    "tornado==6.4.2",
    "anyio==4.7.0",
    "httpx==0.28.1",
    "starlette==0.41.3",
)


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def stdlib_files(quick: bool = False) -> list[Path]:
    root = stdlib_root()
    files = sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts)
    if quick:
        files = [p for p in files if p.parent.name in ("asyncio", "concurrent", "email") or p.parent == root]
    return files


def package_roots(quick: bool = False) -> list[Path]:
    pins = _corpus.PINS + EXTRA_PINS
    if quick:
        pins = pins[:2]
    return [_corpus.fetch(pin) for pin in pins]


def corpus(quick: bool = False, packages: bool = True) -> dict[str, list[Path]]:
    """Group name -> files: 'stdlib' and one group per pinned package."""
    groups = {"stdlib": stdlib_files(quick)}
    if packages:
        for root in package_roots(quick):
            groups[root.name] = sorted(root.rglob("*.py"))
    return groups


def sweep_file(path: str) -> dict[str, object]:
    """Everything the static side does with one file; crashes are caught and returned."""
    from flake8_wfasync.analysis import (
        SourceParseError,
        analyze_module,
        analyze_source,
        blocking_calls_on_line,
    )
    from flake8_wfasync.app.flake8_plugin import WfasyncChecker

    out: dict[str, object] = {"path": path, "parse_error": False, "libcst_rejects": False, "codes": [],
                              "crash": None}
    stage = "read"
    try:
        data = Path(path).read_bytes()
        stage = "analyze_source"
        try:
            findings = analyze_source(data, path)
        except SourceParseError as exc:
            out["parse_error"] = True
            if "\n" in str(exc):
                raise AssertionError(f"parse error message is not one line: {exc!r}") from None
            return out
        out["codes"] = [f.code for f in findings]
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return out  # a coding cookie: the bytes path above covered it
        if "async" not in text:
            return out  # no coroutine: nothing below can find anything (the pre-check's own test)
        stage = "flake8 plugin"
        tree = ast.parse(text)
        plugin = [(row, code.split()[0]) for row, _col, code, _ in
                  WfasyncChecker(tree, text.splitlines(keepends=True), path).run()]
        if sorted(plugin) != sorted((f.line, f.code) for f in findings):
            raise AssertionError(f"plugin {sorted(plugin)[:5]} != analyzer {[(f.line, f.code) for f in findings][:5]}")
        stage = "analyze_module"
        import libcst as cst

        try:
            module = cst.parse_module(text)
        except cst.ParserSyntaxError:
            out["libcst_rejects"] = True  # valid Python that libcst cannot parse
            return out
        try:
            full = analyze_module(module, path)
        except SourceParseError:
            out["libcst_rejects"] = True  # e.g. too deep for libcst to print back
            return out
        missing = {(f.code, f.line) for f in findings} - {(f.code, f.line) for f in full}
        if missing:
            raise AssertionError(f"the pre-checked run found {sorted(missing)[:5]} that the full run did not")
        stage = "blocking_calls_on_line"
        for f in findings[:5]:
            blocking_calls_on_line(text, f.line, path)
    except Exception as exc:  # noqa: BLE001 - a crash is what this sweep looks for
        out["crash"] = f"{stage}: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=-6)}"
    return out


def run(groups: dict[str, list[Path]], jobs: int) -> dict[str, dict[str, object]]:
    stats: dict[str, dict[str, object]] = {}
    paths = [(name, str(p)) for name, files in groups.items() for p in files]
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(jobs) as pool:
        results = pool.imap(sweep_file, [p for _, p in paths], chunksize=16)
        for (name, _), result in zip(paths, results, strict=True):
            s = stats.setdefault(name, {"files": 0, "parse_errors": 0, "libcst_rejects": 0, "findings": 0,
                                        "files_with_findings": 0, "codes": collections.Counter(),
                                        "crashes": []})
            s["files"] += 1
            s["parse_errors"] += bool(result["parse_error"])
            s["libcst_rejects"] += bool(result["libcst_rejects"])
            codes = result["codes"]
            s["findings"] += len(codes)
            s["files_with_findings"] += bool(codes)
            s["codes"].update(codes)
            if result["crash"]:
                s["crashes"].append((result["path"], result["crash"]))
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a subset of the stdlib and two packages")
    parser.add_argument("--no-packages", action="store_true", help="the standard library only")
    parser.add_argument("--jobs", type=int, default=2, help="processes (default 2)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    groups = corpus(args.quick, not args.no_packages)
    stats = run(groups, args.jobs)
    elapsed = time.perf_counter() - t0
    print(f"static sweep: Python {sys.version.split()[0]}, {elapsed:.0f} s on {args.jobs} processes")
    print(f"{'corpus':32} {'files':>6} {'parse err':>9} {'libcst no':>9} {'w/ findings':>11} {'findings':>8} "
          f"{'crashes':>7}")
    total = collections.Counter()
    codes = collections.Counter()
    crashes = []
    for name, s in stats.items():
        print(f"{name:32} {s['files']:6} {s['parse_errors']:9} {s['libcst_rejects']:9} {s['files_with_findings']:11} "
              f"{s['findings']:8} {len(s['crashes']):7}")
        for key in ("files", "parse_errors", "libcst_rejects", "files_with_findings", "findings"):
            total[key] += s[key]
        total["crashes"] += len(s["crashes"])
        codes.update(s["codes"])
        crashes.extend(s["crashes"])
    print(f"{'total':32} {total['files']:6} {total['parse_errors']:9} {total['libcst_rejects']:9} "
          f"{total['files_with_findings']:11} "
          f"{total['findings']:8} {total['crashes']:7}")
    print("findings per code: " + ", ".join(f"{c} {n}" for c, n in sorted(codes.items())))
    for path, text in crashes[:10]:
        print(f"\nCRASH {path}\n{text}")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
