"""Recall and false flags of ``wfasync check`` on labelled real code and on flake8-async's ASYNC2xx eval files.

    python bench/recall.py [--only corpus|eval] [--peers] [--unjudged] [--misses] [--jobs N]

Two measurements, both on code nobody here wrote:

- **Labelled corpus.** Pinned wheels of async applications (``CORPUS_PINS``), fetched once with
  ``pip download`` into ``bench/.corpus/`` (never installed or imported), checked whole as a user
  would (``wfasync check --isolated --no-cache --format json <package>``). ``recall_labels.tsv``
  holds the hand labels: package==version, path, line, verdict, category, note. ``block`` lines
  are calls that block the loop in a coroutine; ``ok`` lines are places a tool may flag but that
  do not block (judged false flags); ``unsure`` lines count nowhere. Recall is the share of
  ``block`` lines with a finding; false flags are findings on ``ok`` lines over the findings on
  judged lines. Findings on lines nobody labelled are counted as *unjudged*: ``--unjudged``
  lists them, to be judged and added to the labels.
- **flake8-async's eval files.** The ASYNC2xx files (blocking calls) of flake8-async's own test
  suite, read from its pinned sdist (fetched the same way, not part of this repository). The
  files leave most imports out (``httpx``, ``Optional``...): the missing ones are added on one
  first line, and every line marked ``# ASYNC2xx`` must have a finding. Marks on ``os.path``
  functions that never touch the disk (``normpath``, ``relpath``) are not counted: they do not
  block. Findings on unmarked lines are listed as *extra* (some are real: the files mark known
  misses of flake8-async with comments like "should error").

``--against DIR`` measures another checkout of this project (a clone at an older commit) side by
side, so a change's effect shows in one run. ``--peers`` adds flake8-async (``flake8 --select ASYNC``) and ``ruff check --select ASYNC`` on the
same labels. Categories in the labels say where a blocking line comes from (``path``: a pathlib
value; ``file``; ``http``; ``sdk``; ``db``; ``transitive``: a project function that blocks;
``catalog``: an API the catalog does not list yet; ...), and recall is printed per category.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import collections
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _corpus  # noqa: E402

CORPUS_PINS: tuple[str, ...] = (
    "chainlit==2.12.0",
    "crawl4ai==0.9.5",
    "gpt-researcher==0.15.1",
    "jupyter-server==2.21.1",
    "paper-qa==2026.8.12",
    "telethon==1.45.0",
)
EVAL_PIN = "flake8-async==26.8.1"
LABELS = HERE / "recall_labels.tsv"
# The asyncio flavour where flake8-async keeps one apart (async22x_asyncio.py beside async22x.py).
EVAL_FILES = ("async210.py", "async211.py", "async212.py", "async22x_asyncio.py", "async232_asyncio.py",
              "async23x_asyncio.py", "async240.py", "async250.py", "async251.py")
_MARK = re.compile(r"#\s*ASYNC2\d\d(?:_asyncio)?:")
# os.path functions that compute on the string alone: flake8-async's ASYNC240 marks them, but they
# never block.
_PURE_PATH = re.compile(r"\b(normpath|relpath|_path_normpath|_joinrealpath)\(")
# The imports the eval files use without writing them.
_EVAL_IMPORTS = {
    "httpx": "import httpx", "httpx2": "import httpx2", "urllib3": "import urllib3",
    "requests": "import requests", "os": "import os", "subprocess": "import subprocess",
    "time": "import time", "io": "import io", "Optional": "from typing import Optional",
    "Union": "from typing import Union", "request": "from urllib import request",
    "urlopen": "from urllib.request import urlopen",
}


# --- running the tools ----------------------------------------------------------------------------

def _tool(name: str) -> str:
    exe = Path(sys.executable).parent / name
    found = str(exe) if exe.exists() else shutil.which(name)
    if found is None:
        raise SystemExit(f"recall: '{name}' is not installed (pip install -e '.[bench]')")
    return found


def wfasync_findings(root: Path, jobs: int, source: Path | None = None) -> dict[tuple[str, int], list[str]]:
    """(path relative to root, line) -> codes, as ``wfasync check`` reports them; with
    ``source``, as the checkout in that folder reports them (``python -m flake8_wfasync``)."""
    args = ["check", "--isolated", "--no-cache", "--format", "json", "--exit-zero", "-j", str(jobs), "."]
    env = None
    if source is not None:
        env = {**os.environ, "PYTHONPATH": str(source.resolve())}
        cmd = [sys.executable, "-m", "flake8_wfasync", *args]
    else:
        cmd = [_tool("wfasync"), *args]
    out = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False, env=env)
    if out.returncode != 0:
        raise SystemExit(f"recall: wfasync check failed in {root}:\n{out.stderr[-2000:]}")
    found: dict[tuple[str, int], list[str]] = collections.defaultdict(list)
    for f in json.loads(out.stdout)["findings"]:
        if f["code"] == "WFA304":
            continue  # a style rule, not a blocking call
        found[(f["path"].removeprefix("./"), f["line"])].append(f["code"])
    return found


def flake8_async_findings(root: Path, jobs: int) -> dict[tuple[str, int], list[str]]:
    cmd = [_tool("flake8"), "--isolated", "--select", "ASYNC", "-j", str(jobs),
           "--format", "%(path)s\t%(row)d\t%(code)s", "."]
    return _rows(subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False).stdout)


def ruff_findings(root: Path) -> dict[tuple[str, int], list[str]]:
    cmd = [_tool("ruff"), "check", "--isolated", "--no-cache", "--select", "ASYNC", "--exit-zero",
           "--output-format", "json", "."]
    out = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False).stdout
    found: dict[tuple[str, int], list[str]] = collections.defaultdict(list)
    for f in json.loads(out or "[]"):
        rel = str(Path(f["filename"]).resolve().relative_to(root.resolve()))
        found[(rel, f["location"]["row"])].append(f["code"])
    return found


def _rows(text: str) -> dict[tuple[str, int], list[str]]:
    found: dict[tuple[str, int], list[str]] = collections.defaultdict(list)
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[1].isdigit():
            found[(parts[0].removeprefix("./"), int(parts[1]))].append(parts[2])
    return found


# --- the labelled corpus --------------------------------------------------------------------------

@dataclass(frozen=True)
class Label:
    dist: str
    path: str
    line: int
    verdict: str  # block | ok | unsure
    category: str
    note: str


def read_labels(path: Path = LABELS) -> list[Label]:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = csv.DictReader((line for line in fh if not line.startswith("#")), delimiter="\t")
        return [Label(r["dist"], r["path"], int(r["line"]), r["verdict"], r["category"], r["note"])
                for r in rows]


@dataclass
class Score:
    block: int = 0
    found: int = 0
    flagged_ok: int = 0
    judged_findings: int = 0
    unjudged: int = 0

    @property
    def recall(self) -> float:
        return self.found / self.block if self.block else 0.0

    @property
    def false_rate(self) -> float:
        return self.flagged_ok / self.judged_findings if self.judged_findings else 0.0


def score_corpus(labels: list[Label], findings: dict[str, dict[tuple[str, int], list[str]]],
                 by_category: dict[str, Score] | None = None,
                 misses: list[Label] | None = None,
                 unjudged: list[tuple[str, str, int, list[str]]] | None = None) -> Score:
    total = Score()
    by_key = {(lb.dist, lb.path, lb.line): lb for lb in labels}
    for lb in labels:
        hit = (lb.path, lb.line) in findings.get(lb.dist, {})
        cat = by_category.setdefault(lb.category, Score()) if by_category is not None else Score()
        if lb.verdict == "block":
            for s in (total, cat):
                s.block += 1
                s.found += hit
                s.judged_findings += hit
            if not hit and misses is not None:
                misses.append(lb)
        elif lb.verdict == "ok" and hit:
            for s in (total, cat):
                s.flagged_ok += 1
                s.judged_findings += 1
    for dist, found in findings.items():
        for (path, line), codes in sorted(found.items()):
            if (dist, path, line) not in by_key:
                total.unjudged += 1
                if unjudged is not None:
                    unjudged.append((dist, path, line, codes))
    return total


def corpus_roots() -> dict[str, Path]:
    return {pin: _corpus.fetch(pin) for pin in CORPUS_PINS}


def run_corpus(args: argparse.Namespace) -> None:
    labels = read_labels()
    roots = corpus_roots()
    tools: dict[str, dict[str, dict[tuple[str, int], list[str]]]] = {"wfasync": {}}
    if args.against is not None:
        tools[f"wfasync@{args.against.name}"] = {}
    if args.peers:
        tools["flake8-async"] = {}
        tools["ruff ASYNC"] = {}
    for pin, root in roots.items():
        tools["wfasync"][pin] = wfasync_findings(root, args.jobs)
        if args.against is not None:
            tools[f"wfasync@{args.against.name}"][pin] = wfasync_findings(root, args.jobs, args.against)
        if args.peers:
            tools["flake8-async"][pin] = flake8_async_findings(root, args.jobs)
            tools["ruff ASYNC"][pin] = ruff_findings(root)
    n_block = sum(lb.verdict == "block" for lb in labels)
    print(f"labelled corpus: {len(roots)} packages, {len(labels)} labels, {n_block} blocking lines")
    print(f"{'tool':14} {'recall':>7} {'found':>11} {'false flags':>12} {'unjudged':>9}")
    for name, findings in tools.items():
        s = score_corpus(labels, findings)
        print(f"{name:14} {s.recall:7.2f} {s.found:5}/{s.block:<5} {s.flagged_ok:4}/{s.judged_findings:<4} "
              f"{s.false_rate:4.0%} {s.unjudged:6}")
    cats: dict[str, Score] = {}
    misses: list[Label] = []
    unjudged: list[tuple[str, str, int, list[str]]] = []
    score_corpus(labels, tools["wfasync"], cats, misses, unjudged)
    print("wfasync by category: " + ", ".join(
        f"{c} {s.found}/{s.block}" + (f" ({s.flagged_ok} false)" if s.flagged_ok else "")
        for c, s in sorted(cats.items(), key=lambda kv: -kv[1].block)))
    if args.misses:
        print("\nmissed blocking lines:")
        for lb in misses:
            print(f"  {lb.dist} {lb.path}:{lb.line} [{lb.category}] {lb.note}")
    if args.unjudged:
        print("\nunjudged findings (add them to recall_labels.tsv):")
        for dist, path, line, codes in unjudged:
            text = _line_of(roots[dist] / path, line)
            print(f"{dist}\t{path}\t{line}\t?\t{','.join(codes)}\t{text}")


def _line_of(path: Path, line: int) -> str:
    try:
        return path.read_text(encoding="utf-8").splitlines()[line - 1].strip()[:100]
    except (OSError, IndexError, UnicodeDecodeError):
        return ""


# --- flake8-async's eval files --------------------------------------------------------------------

def eval_dir() -> Path:
    """flake8-async's ``tests/eval_files`` from its pinned sdist (fetched once)."""
    name, _, version = EVAL_PIN.partition("==")
    target = _corpus.CORPUS_DIR / f"{name}-{version}-eval"
    if (target / ".complete").exists():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
               "-d", tmp, EVAL_PIN]
        subprocess.run(cmd, check=True)
        sdists = list(Path(tmp).glob("*.tar.gz"))
        if len(sdists) != 1:
            raise RuntimeError(f"pip download {EVAL_PIN}: expected one sdist, got {sdists}")
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(sdists[0]) as tf:
            for member in tf.getmembers():
                parts = Path(member.name).parts
                if member.isfile() and parts[-1] in EVAL_FILES and "eval_files" in parts:
                    data = tf.extractfile(member)
                    assert data is not None
                    (target / parts[-1]).write_bytes(data.read())
    (target / ".complete").write_text(EVAL_PIN + "\n")
    return target


def with_imports(text: str) -> str:
    """The file with the imports it uses but leaves out, all on one first line."""
    tree = ast.parse(text)
    bound = set(dir(builtins))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).partition(".")[0] for a in node.names)
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    missing = [_EVAL_IMPORTS[n] for n in sorted(used - bound) if n in _EVAL_IMPORTS]
    return "; ".join(missing or ["pass"]) + "\n" + text


def run_eval(args: argparse.Namespace) -> None:
    src = eval_dir()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        expected: dict[tuple[str, int], str] = {}
        for name in EVAL_FILES:
            text = with_imports((src / name).read_text(encoding="utf-8"))
            (work / name).write_text(text, encoding="utf-8")
            for i, line in enumerate(text.splitlines(), 1):
                if _MARK.search(line) and not _PURE_PATH.search(line.partition("#")[0]):
                    expected[(name, i)] = line.strip()
        found = wfasync_findings(work, 1)
        before = wfasync_findings(work, 1, args.against) if args.against is not None else None
        texts = {name: (work / name).read_text(encoding="utf-8").splitlines() for name in EVAL_FILES}
    hits = sum(k in found for k in expected)
    print(f"flake8-async {EVAL_PIN.partition('==')[2]} ASYNC2xx eval files (imports added): "
          f"recall {hits / len(expected):.2f} ({hits}/{len(expected)} marked lines)")
    if before is not None:
        was = sum(k in before for k in expected)
        print(f"  wfasync@{args.against.name}: recall {was / len(expected):.2f} ({was}/{len(expected)})")
    per_file = collections.Counter(name for name, _ in expected)
    per_hit = collections.Counter(name for (name, line) in expected if (name, line) in found)
    print("  " + ", ".join(f"{n} {per_hit[n]}/{per_file[n]}" for n in EVAL_FILES))
    extra = sorted(k for k in found if k not in expected)
    print(f"  findings on unmarked lines: {len(extra)}")
    if args.misses:
        for name, line in sorted(k for k in expected if k not in found):
            print(f"  missed {name}:{line}: {expected[(name, line)]}")
        for name, line in extra:
            print(f"  extra  {name}:{line}: {','.join(found[(name, line)])} {texts[name][line - 1].strip()}")


def main(argv: list[str] | None = None) -> int:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("corpus", "eval"), help="one of the two measurements")
    parser.add_argument("--peers", action="store_true",
                        help="also ruff and flake8-async on the corpus (flake8-async takes many minutes)")
    parser.add_argument("--unjudged", action="store_true", help="list findings on unlabelled lines")
    parser.add_argument("--misses", action="store_true", help="list missed lines (and eval extras)")
    parser.add_argument("--jobs", type=int, default=2, help="processes for each check (default 2)")
    parser.add_argument("--against", type=Path, metavar="DIR",
                        help="also measure the checkout in DIR (e.g. a clone of main) side by side")
    args = parser.parse_args(argv)
    if args.only != "corpus":
        run_eval(args)
    if args.only != "eval":
        run_corpus(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
