"""Run ``wfasync fix`` over copies of the sweep corpus; every rewrite must be sound and final.

    python bench/sweep_fix.py [--quick] [--no-packages]

Same corpus as ``bench/sweep_static.py`` (standard library and pinned packages). The files
with findings are copied into a temporary folder (the originals are never touched) and fixed
there with the fixer the command uses (``fix_files``, writing). Then, for every file:

- a rewritten file compiles, and still decodes with its own encoding;
- it has no finding (code and call) that it did not have before;
- a second fix run changes nothing (the first run reached its fixed point);
- a file the fixer declined is byte-identical to its copy.

Refusals are counted by reason: a guard that fires ("would not compile", "would add findings",
"did not settle") is a rewrite the fixer planned and caught itself; an internal error is a bug.
Exit status 1 on any broken rewrite, second-run change or internal error.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import shutil
import sys
import tempfile
import time
import tokenize
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from sweep_static import corpus, stdlib_root


def _findings(path: str) -> list[tuple[str, str]]:
    from flake8_wfasync.analysis import SourceParseError, analyze_source

    try:
        return [(f.code, f.qualname or "") for f in analyze_source(Path(path).read_bytes(), path)]
    except SourceParseError:
        return []


def _reason(error: str) -> str:
    for key in ("would not compile", "would add findings", "did not settle", "cannot parse",
                "cannot write", "internal error", "too deeply nested"):
        if key in error:
            return key
    return error[:60]


def sweep_group(name: str, files: list[Path], root: Path, workdir: Path, jobs: int) -> dict[str, object]:
    from flake8_wfasync.config import Config
    from flake8_wfasync.fix import fix_files

    s: dict[str, object] = {"files": len(files), "with_findings": 0, "rewritten": 0, "fixes": 0,
                            "left": 0, "refused": collections.Counter(), "broken": [], "new_findings": [],
                            "second_run_changed": [], "internal": []}
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        before_all = pool.map(_findings, [str(p) for p in files], chunksize=16)
    pairs = [(p, b) for p, b in zip(files, before_all, strict=True) if b]
    s["with_findings"] = len(pairs)
    copies: list[Path] = []
    before: dict[Path, list[tuple[str, str]]] = {}
    for path, found in pairs:
        rel = path.relative_to(root)
        copy = workdir / name / rel
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
        copies.append(copy)
        before[copy] = found
    if not copies:
        return s
    originals = {c: c.read_bytes() for c in copies}
    config = Config()
    report = fix_files(copies, config, write=True)
    for ff in report.files:
        path = Path(ff.path)
        data = path.read_bytes()
        s["left"] += len(ff.remaining)
        if ff.error:
            s["refused"][_reason(ff.error)] += 1
            if ff.internal:
                s["internal"].append(f"{path}: {ff.error}")
            if data != originals[path]:
                s["broken"].append(f"{path}: refused ({ff.error}) but the file changed")
            continue
        if data == originals[path]:
            continue
        s["rewritten"] += 1
        s["fixes"] += len(ff.applied)
        try:
            with open(path, "rb") as fh:
                encoding, _ = tokenize.detect_encoding(fh.readline)
            text = data.decode(encoding)
            compile(text, str(path), "exec", dont_inherit=True)
        except (SyntaxError, UnicodeDecodeError, ValueError) as exc:
            s["broken"].append(f"{path}: {type(exc).__name__}: {exc}")
            continue
        gained = collections.Counter(_findings(str(path))) - collections.Counter(before[path])
        if gained:
            s["new_findings"].append(f"{path}: {sorted(gained)[:3]}")
    rewritten = {c: c.read_bytes() for c in copies}
    again = fix_files(copies, config, write=True)
    for ff in again.files:
        path = Path(ff.path)
        if path.read_bytes() != rewritten[path] or ff.applied:
            s["second_run_changed"].append(str(path))
    return s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a subset of the stdlib and two packages")
    parser.add_argument("--no-packages", action="store_true", help="the standard library only")
    parser.add_argument("--jobs", type=int, default=2, help="processes for the first analysis (default 2)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    groups = corpus(args.quick, not args.no_packages)
    results = {}
    with tempfile.TemporaryDirectory(prefix="wfasync-fix-sweep-") as tmp:
        for name, files in groups.items():
            root = stdlib_root() if name == "stdlib" else next(p for p in files[0].parents if p.name == name)
            results[name] = sweep_group(name, files, root, Path(tmp), args.jobs)
    print(f"fix sweep: Python {sys.version.split()[0]}, {time.perf_counter() - t0:.0f} s")
    cols = ("files", "with_findings", "rewritten", "fixes", "left")
    print(f"{'corpus':28} " + " ".join(f"{c:>13}" for c in cols) + f" {'refused':>8} {'broken':>6} {'new':>4} {'2nd run':>7}")
    total = collections.Counter()
    refused = collections.Counter()
    problems = []
    for name, s in results.items():
        print(f"{name:28} " + " ".join(f"{s[c]:13}" for c in cols)
              + f" {sum(s['refused'].values()):8} {len(s['broken']):6} {len(s['new_findings']):4}"
              f" {len(s['second_run_changed']):7}")
        for c in cols:
            total[c] += s[c]
        refused.update(s["refused"])
        for key in ("broken", "new_findings", "second_run_changed", "internal"):
            total[key] += len(s[key])
            problems.extend(f"{key}: {item}" for item in s[key])
    print(f"{'total':28} " + " ".join(f"{total[c]:13}" for c in cols)
          + f" {sum(refused.values()):8} {total['broken']:6} {total['new_findings']:4} {total['second_run_changed']:7}")
    print("refused, by reason: " + (", ".join(f"{r} {n}" for r, n in refused.most_common()) or "none"))
    print(f"internal errors: {total['internal']}")
    for line in problems[:20]:
        print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
