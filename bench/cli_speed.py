"""`wfasync check` cold and warm beside `ruff check --select ASYNC --no-cache`, on real code.

Usage:  python bench/cli_speed.py [--repeat N] [--corpus DIR ...] [--libcst]

The corpus is the one of bench/lint_speed.py: pinned releases of llama-index-core and aiohttp
(``bench/_corpus.py`` fetches them once with ``pip download``), or the folders given with
``--corpus``. Files are copied to a scratch folder outside any project, so neither tool picks
up a configuration or an ignore file.

Rows (median of N runs; wall clock and CPU time of the process and its workers, both cores
available to both tools; CPU time is the steadier figure on a machine shared with others):
    ruff       ruff check --select ASYNC --no-cache
    cold       wfasync check with an empty cache: every file read, pre-checked, the project
               index built, the files that might block analysed, on a process pool
    warm       wfasync check again on the unchanged tree (answers from the cache)
    cold seq   cold with --jobs 1
    libcst     (with --libcst) bare libcst.parse_module of every file, one process: the floor
               of any libcst analyzer that parses everything
Goals: warm within 2x ruff, cold within 30x ruff.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _default_sources() -> list[Path]:
    """The pinned corpus of bench/lint_speed.py, exactly: both benches measure the same files."""
    sys.path.insert(0, str(HERE))
    from _corpus import corpus_dirs

    try:
        return corpus_dirs()
    except Exception as exc:  # noqa: BLE001 - say why, and how to measure something else
        raise SystemExit(f"pinned corpus unavailable ({exc}); fetch it with `python bench/_corpus.py` "
                         "or pass --corpus DIR ...") from None


def build_corpus(sources: list[Path], dest: Path) -> int:
    count = 0
    for src in sources:
        target = dest / src.name
        shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.pyd"),
                        dirs_exist_ok=True)
        count += sum(1 for _ in target.rglob("*.py"))
    return count


# Both tools run as installed: a regular ``pip install`` byte-compiles the package, but an
# editable one under PYTHONDONTWRITEBYTECODE would compile every module again on every run and
# time the compiler instead of the checker.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _time(cmd: list[str], cwd: Path, before=None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child and its workers: user + system)."""
    if before is not None:
        before()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_ENV)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[:500]}")
    cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    return elapsed, cpu


def _libcst_floor(root: Path) -> float:
    code = (
        "import sys, pathlib, time, libcst\n"
        "files = sorted(pathlib.Path(sys.argv[1]).rglob('*.py'))\n"
        "t = time.perf_counter()\n"
        "for f in files:\n"
        "    try: libcst.parse_module(f.read_bytes())\n"
        "    except Exception: pass\n"
        "print(time.perf_counter() - t)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True, check=True,
                         cwd=root.parent)
    return float(out.stdout.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--corpus", nargs="*", type=Path,
                        help="folders to use instead of the pinned corpus of bench/lint_speed.py")
    parser.add_argument("--libcst", action="store_true", help="also time the bare libcst parse (slow)")
    args = parser.parse_args()

    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    # The installed entry point, not ``python -m``: the corpus folder is the working directory
    # and holds copies of packages (libcst among them) that must not shadow the real ones.
    script = Path(sys.executable).parent / "wfasync"
    wfasync = [str(script)] if script.exists() else [shutil.which("wfasync") or "wfasync"]
    sources = args.corpus or _default_sources()
    with tempfile.TemporaryDirectory(prefix="wfasync-bench-") as tmp:
        root = Path(tmp) / "corpus"
        root.mkdir()
        n_files = build_corpus(sources, root)
        cache_dir = Path(tmp) / "cache"
        n_async = sum(1 for f in root.rglob("*.py") if b"async " in f.read_bytes())
        print(f"corpus: {n_files} files ({n_async} mention async) from {len(sources)} packages; "
              f"{os.cpu_count()} cores; {args.repeat} runs each, median wall time")

        def clear() -> None:
            shutil.rmtree(cache_dir, ignore_errors=True)

        check = [*wfasync, "check", ".", "--isolated", "--format", "json", "--cache-dir", str(cache_dir)]
        ruff_cmd = [ruff, "check", "--select", "ASYNC", "--no-cache", "--isolated", "--exit-zero", "-q", "."]
        # One untimed run of each, so the file system cache is warm (and the bytecode written)
        # for everyone.
        _time(ruff_cmd, root)
        _time(check, root, clear)
        rows: dict[str, list[tuple[float, float]]] = {"ruff": [], "cold": [], "warm": []}
        for _ in range(args.repeat):  # interleaved, so a burst of load hits every row alike
            rows["ruff"].append(_time(ruff_cmd, root))
            rows["cold"].append(_time(check, root, clear))
            rows["warm"].append(_time(check, root))
        rows["cold seq"] = [_time([*check, "--jobs", "1"], root, clear) for _ in range(max(1, args.repeat // 2))]
        rows["(startup)"] = [_time([*wfasync, "--version"], root) for _ in range(args.repeat)]
        wall = {k: statistics.median(w for w, _ in v) for k, v in rows.items()}
        cpu = {k: statistics.median(c for _, c in v) for k, v in rows.items()}
        print(f"{'run':<12}{'wall s':>9}{'x ruff':>8}{'cpu s':>9}{'x ruff':>8}  goal (on wall time)")
        goals = {"warm": 2, "cold": 30}
        for name in rows:
            goal = ""
            if name in goals:
                limit = goals[name]
                goal = f"<= {limit}x  " + ("met" if wall[name] <= limit * wall["ruff"] else "MISSED")
            print(f"{name:<12}{wall[name]:>9.3f}{wall[name] / wall['ruff']:>8.2f}"
                  f"{cpu[name]:>9.3f}{cpu[name] / cpu['ruff']:>8.2f}  {goal}")
        if args.libcst:
            floor = _libcst_floor(root)
            print(f"{'libcst parse':<12}{floor:>9.3f}{floor / wall['ruff']:>8.2f}{'':>17}  every file, one process")
        print("(startup) is `wfasync --version`: the interpreter and the imports of every run.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
