"""Run the analyzer over every .py file of the CPython standard library; nothing may crash.

    python bench/stdlib_sweep.py [--quick]

Each file is analysed in every mode: the normal analysis (analyze_source, which pre-filters),
the full analysis without pre-filter (analyze_module), and the line lookup the runtime uses
(blocking_calls_on_line). A file that Python itself cannot parse must raise SourceParseError;
any other exception is a crash. Prints the counts; exit status 1 on any crash.
"""

from __future__ import annotations

import argparse
import ast
import sys
import sysconfig
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flake8_wfasync.analysis import (  # noqa: E402
    SourceParseError,
    _Analyzer,
    _cst_parse,
    analyze_module,
    analyze_source,
)
from flake8_wfasync.config import DEFAULT_CONFIG  # noqa: E402


def stdlib_files(quick: bool = False) -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts)
    if quick:
        files = [p for p in files if p.parent.name in ("asyncio", "concurrent", "json", "email")
                 or p.parent == root]
    return files


def sweep(files: list[Path]) -> dict[str, object]:
    counts = {"files": 0, "analysed": 0, "parse_errors": 0, "libcst_refused": 0, "findings": 0,
              "line_findings": 0, "crashes": []}
    for path in files:
        counts["files"] += 1
        data = path.read_bytes()
        try:
            findings = analyze_source(data, str(path))
        except SourceParseError:
            counts["parse_errors"] += 1
            continue
        except Exception:  # noqa: BLE001 - a crash is what this sweep looks for
            counts["crashes"].append((str(path), traceback.format_exc()))
            continue
        counts["analysed"] += 1
        counts["findings"] += len(findings)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        try:
            # One parse for both full modes: no pre-pass, and every function as a coroutine
            # (what blocking_calls_on_line runs).
            try:
                module = _cst_parse(text, str(path))
                full = analyze_module(module, str(path))
            except SourceParseError:
                # Valid Python that libcst cannot parse or print: a clear error, no crash.
                counts["libcst_refused"] += 1
                continue
            if [(f.code, f.line) for f in full] != [(f.code, f.line) for f in findings]:
                raise AssertionError("analyze_module and analyze_source disagree")
            tree = ast.parse(text)
            line = _Analyzer(module, tree, str(path), DEFAULT_CONFIG, line_mode=True).run()
            counts["line_findings"] += len(line)
        except Exception:  # noqa: BLE001
            counts["crashes"].append((str(path), traceback.format_exc()))
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only a subset of the stdlib")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    counts = sweep(stdlib_files(args.quick))
    crashes = counts.pop("crashes")
    print(f"stdlib sweep ({sysconfig.get_paths()['stdlib']}), {time.perf_counter() - t0:.1f}s")
    for k, v in counts.items():
        print(f"  {k:14} {v}")
    print(f"  {'crashes':14} {len(crashes)}")
    for path, tb in crashes[:10]:
        print(f"\n{path}\n{tb}")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
