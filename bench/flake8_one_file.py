"""An editor's flake8 run on one file: per-file WFA201 beside following imports (the default).

    python bench/flake8_one_file.py [--files N] [--repeat N]

The corpus is llama-index-core (``bench/_corpus.py``), copied into a scratch project. ``wfasync
check`` runs over it once, leaving its module summaries in ``.wfasync_cache/``; then each of
``--files`` files holding a coroutine that calls into the project (default 12) is checked by
its own flake8 process, as an editor does on save, two ways in turn:

- ``per-file``: ``flake8 --select WFA --wfasync-per-file FILE`` (WFA201 within the file only);
- ``follow imports, warm``: ``flake8 --select WFA FILE``, reading the summaries of the modules
  it calls into from the cache.

Times are CPU seconds of the flake8 process and its children (the machine is shared; wall time
would mostly measure the neighbours), the best of ``--repeat`` runs (default 3) per file; the
table gives their sums and the ratio.
"""

from __future__ import annotations

import argparse
import ast
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _corpus import corpus_dirs  # noqa: E402


def _child_cpu(cmd: list[str], cwd: Path) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _calls_project(path: Path, package: str) -> bool:
    """A file with a coroutine and an import of the package: what the cache is for."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return False
    has_coroutine = any(isinstance(n, ast.AsyncFunctionDef) for n in ast.walk(tree))
    imports = any(isinstance(n, ast.ImportFrom) and (n.level or (n.module or "").startswith(package))
                  for n in ast.walk(tree))
    return has_coroutine and imports


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=12)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    source = corpus_dirs()[0]
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        shutil.copytree(source, project)
        (project / "pyproject.toml").write_text("[tool.wfasync]\n")
        package = "llama_index"
        candidates = sorted(p for p in (project / package).rglob("*.py") if _calls_project(p, package))
        step = max(1, len(candidates) // args.files)
        files = candidates[::step][: args.files]
        bindir = Path(sys.executable).parent
        check = [str(bindir / "wfasync"), "check", "--exit-zero", "--format", "json", "-o", os.devnull, "."]
        subprocess.run(check, cwd=project, capture_output=True, check=True)
        flake8 = [sys.executable, "-m", "flake8", "--select", "WFA", "-j", "1"]
        ways = {"per-file": [*flake8, "--wfasync-per-file"], "follow imports, warm": flake8}
        totals = dict.fromkeys(ways, 0.0)
        for f in files:
            rel = str(f.relative_to(project))
            best = {name: min(_child_cpu([*cmd, rel], project) for _ in range(args.repeat))
                    for name, cmd in ways.items()}
            for name, t in best.items():
                totals[name] += t
        print(f"{len(files)} files of {source.name}, each by its own flake8 process (CPU s, best of {args.repeat})")
        base = totals["per-file"]
        for name, t in totals.items():
            print(f"  {name:<22} {t:7.2f} s  {t / len(files):6.3f} s/file  {t / base:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
