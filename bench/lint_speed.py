"""Lint speed on real code: this plugin's checker beside flake8-async's, libcst and ruff.

    python bench/lint_speed.py [--every N] [--repeat N]

The corpus is the ``.py`` files of pinned releases of llama-index-core and aiohttp, fetched
once with ``pip download`` into ``bench/.corpus/`` (see ``bench/_corpus.py``).

Everything is timed in this one process, on source already read and ``ast`` trees already
built (flake8 hands both to every plugin for free):

- ``wfasync checker``: ``WfasyncChecker(tree, lines).run()`` over every file;
- ``flake8-async checker``: flake8-async's ``Plugin(tree, lines).run()`` on the same files
  (it is slow, so by default every 3rd file: ``--every 1`` for all of them); our checker is
  timed on that same sample for the ratio;
- ``libcst parse``: bare ``libcst.parse_module`` of the files our pre-pass lets through (the
  files our analysis must parse), and ``wfasync analysis``: our analysis of those files
  (libcst parse + the walk + positions), the floor and what we add to it;
- ``ruff check --select ASYNC --no-cache`` over the corpus folders (a subprocess, wall time).

Timings are CPU seconds of this process (wall seconds for ruff, a subprocess), the best of
``--repeat`` runs (default 3) except flake8-async (one run).
"""

from __future__ import annotations

import argparse
import ast
import gc
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import libcst  # noqa: E402
from _corpus import PINS, corpus_dirs, corpus_files  # noqa: E402

from flake8_wfasync.analysis import analyze_text, might_block_tree  # noqa: E402
from flake8_wfasync.app.flake8_plugin import WfasyncChecker  # noqa: E402

CORPUS_PINS = PINS


def _once(fn: Callable[[], object]) -> float:
    # CPU time of this process: on a shared machine, wall time mostly measures the neighbours.
    gc.collect()
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def _best_wall(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _best(fn: Callable[[], object], repeat: int) -> float:
    return min(_once(fn) for _ in range(repeat))


def _best_interleaved(fns: list[Callable[[], object]], repeat: int) -> list[float]:
    """Best of ``repeat`` for each, taking turns so that load from elsewhere hits all alike."""
    best = [float("inf")] * len(fns)
    order = list(range(len(fns)))
    for _ in range(repeat):
        for i in order:
            best[i] = min(best[i], _once(fns[i]))
        order.reverse()  # whichever runs second after a collection runs faster: alternate
    return best


def _flake8_async_plugin():
    from flake8_async import Plugin

    parser = argparse.ArgumentParser()
    Plugin.add_options(parser)
    Plugin.parse_options(parser.parse_args([]))
    return Plugin


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--every", type=int, default=3,
                    help="run flake8-async on every Nth file (default 3; 1 = all)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    files = corpus_files()
    texts = [p.read_text(encoding="utf-8") for p in files]
    lines = [t.splitlines(keepends=True) for t in texts]
    t0 = time.process_time()
    trees = [ast.parse(t) for t in texts]
    t_ast = time.process_time() - t0
    n_bytes = sum(len(t) for t in texts)
    n_async = sum("async def" in t for t in texts)
    print(f"corpus: {', '.join(PINS)}: {len(files)} files, {n_bytes / 1e6:.2f} MB, "
          f"{n_async} with 'async def'")

    def ours(idx: list[int]) -> int:
        n = 0
        for i in idx:
            for _ in WfasyncChecker(trees[i], lines[i], str(files[i])).run():
                n += 1
        return n

    everything = list(range(len(files)))
    n_ours = ours(everything)  # warm-up, and the count
    t_ours = _best(lambda: ours(everything), args.repeat)

    must = [i for i in everything if might_block_tree(trees[i], texts[i])]
    must_bytes = sum(len(texts[i]) for i in must)
    def parse_all() -> None:
        for i in must:  # nothing kept: both sides free each tree before the next file
            libcst.parse_module(texts[i])

    def analyse_all() -> None:
        for i in must:
            analyze_text(texts[i], trees[i], str(files[i]))

    t_parse, t_analysis = _best_interleaved([parse_all, analyse_all], max(args.repeat, 4))

    sample = everything[:: max(args.every, 1)]
    t_ours_sample = _best(lambda: ours(sample), args.repeat)
    plugin = _flake8_async_plugin()

    def theirs() -> int:
        n = 0
        for i in sample:
            for _ in plugin(trees[i], lines[i], str(files[i])).run():
                n += 1
        return n

    found: list[int] = []
    t_theirs = _once(lambda: found.append(theirs()))
    n_theirs = found[0]

    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    dirs = [str(d) for d in corpus_dirs()]
    t_ruff = _best_wall(lambda: subprocess.run(
        [ruff, "check", "--select", "ASYNC", "--no-cache", "--isolated", "--exit-zero", "-q", *dirs],
        capture_output=True, check=False), args.repeat)

    print(f"pre-pass: {len(must)} of {len(files)} files need libcst ({must_bytes / 1e6:.2f} MB); "
          f"findings: wfasync {n_ours} (all files), flake8-async {n_theirs} (sample)")
    print(f"\n{'measure':<44}{'CPU s':>9}  ratio")
    rows = [
        ("ast.parse, all files (given by flake8)", t_ast, ""),
        ("wfasync checker, all files", t_ours, ""),
        (f"wfasync checker, sample of {len(sample)} files", t_ours_sample, ""),
        (f"flake8-async checker, same {len(sample)} files", t_theirs,
         f"{t_theirs / t_ours_sample:.1f}x slower than wfasync (goal >= 20x)"),
        (f"libcst parse, {len(must)} files that need it", t_parse, "1.00 (floor)"),
        (f"wfasync analysis, same {len(must)} files", t_analysis,
         f"{t_analysis / t_parse:.2f}x the bare parse (goal <= 1.5x)"),
        ("ruff check --select ASYNC --no-cache (wall)", t_ruff,
         f"wfasync checker / ruff = {t_ours / t_ruff:.2f}"),
    ]
    for name, secs, ratio in rows:
        print(f"{name:<44}{secs:>9.3f}  {ratio}")
    print("\nTimings on a shared machine are noisy; re-run when a ratio is borderline.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
