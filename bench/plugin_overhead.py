"""What the pytest plugin costs a real test suite: the same suite with and without it.

Each suite is a released project's own tests, taken from its sdist on the package index at a
pinned version, installed with its test dependencies and this checkout of wfasync into a
scratch virtual environment of its own (outside the repository; reused by later runs). The
suite then runs, repeat after repeat, alternately with the plugin (its defaults: warn mode,
0.1 s threshold) and without it (``-p no:wfasync``), with the same arguments and so the same
selection. The table gives the best wall time of each side and their ratio, and checks that
both sides ended with the same outcome counts.

    python bench/plugin_overhead.py                        # every suite, 3 repeats (several minutes)
    python bench/plugin_overhead.py --suite asgiref --repeat 5
    python bench/plugin_overhead.py --workdir DIR          # where the venvs and sources live

Timings on a shared machine are noisy: re-run a borderline figure.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Suite:
    name: str  # the distribution on the package index
    version: str
    test_deps: tuple[str, ...]
    # Arguments after ``python -m pytest``; addopts from the project's config are cleared so that
    # coverage or xdist settings do not decide the comparison.
    args: tuple[str, ...] = ("tests",)
    extras: str = ""
    env: dict[str, str] = field(default_factory=dict)

    @property
    def pin(self) -> str:
        return f"{self.name}=={self.version}"


# Newest releases whose sdist still ships the test suite (later llama-index-workflows and every
# quart sdist leave tests out; hypercorn is quart's server, by the same authors).
SUITES: dict[str, Suite] = {
    suite.name: suite
    for suite in (
        Suite(
            "llama-index-workflows",
            "2.10.3",
            ("pytest-asyncio>=1.0", "pytest-timeout", "httpx", "pyyaml", "packaging"),
            extras="[server,client]",
        ),
        Suite("asgiref", "3.13.0", ("pytest-asyncio", "packaging")),
        Suite(
            "hypercorn",
            "0.18.0",
            ("pytest-asyncio", "pytest-trio", "trio", "httpx", "hypothesis", "mock"),
            # These fail with or without the plugin: two against today's h2 (CONNECT headers),
            # one on a keep-alive timing that a loaded machine misses.
            args=(
                "tests",
                "--deselect", "tests/asyncio/test_sanity.py::test_http2_websocket",
                "--deselect", "tests/trio/test_sanity.py::test_http2_websocket",
                "--deselect", "tests/asyncio/test_keep_alive.py::test_http1_keep_alive_pre_request",
            ),
            extras="[trio]",
        ),
    )
}

# The final line of a pytest run: "12 passed, 1 skipped, 2 warnings in 3.45s".
_OUTCOME = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected)")


def _run(cmd: list[str], **kwargs: object) -> None:
    subprocess.run(cmd, check=True, **kwargs)  # type: ignore[call-overload]


def _stamp(suite: Suite) -> str:
    """Changes with the suite's pins, and with the checkout installed into its venv."""
    text = repr((suite.pin, suite.test_deps, suite.extras, str(ROOT))) + (ROOT / "pyproject.toml").read_text()
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def prepare(suite: Suite, workdir: Path) -> tuple[Path, Path]:
    """(python of the suite's venv, directory of its unpacked sdist), built once."""
    home = workdir / f"{suite.name}-{suite.version}"
    python = home / "venv" / "bin" / "python"
    stamp = home / ".ready"
    sources = next((home / "src").glob("*/"), None) if (home / "src").is_dir() else None
    if stamp.is_file() and stamp.read_text() == _stamp(suite) and sources is not None and python.exists():
        return python, sources
    print(f"preparing {suite.pin} in {home} (once)...", flush=True)
    shutil.rmtree(home, ignore_errors=True)
    (home / "src").mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        _run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
              "--no-binary", suite.name, "-d", tmp, suite.pin])
        archives = list(Path(tmp).glob("*.tar.gz"))
        if len(archives) != 1:
            raise RuntimeError(f"pip download {suite.pin}: expected one sdist, got {archives}")
        with tarfile.open(archives[0]) as tar:
            tar.extractall(home / "src", filter="data")
    sources = next((home / "src").glob("*/"))
    _run([sys.executable, "-m", "venv", str(home / "venv")])
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    _run([*pip, f"{sources}{suite.extras}", *suite.test_deps])
    # This checkout, editable, so later runs measure the code as it is now.
    _run([*pip, "-e", str(ROOT)])
    stamp.write_text(_stamp(suite))
    return python, sources


def _versions(python: Path, names: tuple[str, ...]) -> str:
    code = (
        "import importlib.metadata as m, sys\n"
        "out = []\n"
        "for n in sys.argv[1:]:\n"
        "    try: out.append(f'{n} {m.version(n)}')\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(', '.join(out))\n"
    )
    done = subprocess.run([str(python), "-c", code, *names], capture_output=True, text=True, check=True)
    return done.stdout.strip()


@dataclass
class Timing:
    seconds: list[float] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    tail: str = ""


def run_once(python: Path, sources: Path, suite: Suite, plugin: bool) -> tuple[float, dict[str, int], str]:
    # -rfE names the tests that failed, so a difference between the two sides can be chased.
    cmd = [str(python), "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", "-o", "addopts=", *suite.args]
    if not plugin:
        cmd[3:3] = ["-p", "no:wfasync"]
    env = {**os.environ, **suite.env, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=sources, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    outcomes = {kind.rstrip("s") if kind.startswith("error") else kind: int(n) for n, kind in _OUTCOME.findall(last)}
    failures = [line for line in lines if line.startswith(("FAILED ", "ERROR "))]
    if failures:
        last += "\n" + "\n".join(f"      {line}" for line in failures)
    return elapsed, outcomes, last


def measure(suite: Suite, workdir: Path, repeat: int) -> tuple[Timing, Timing, str]:
    python, sources = prepare(suite, workdir)
    versions = _versions(python, (suite.name, "pytest", "pytest-asyncio", "flake8-wfasync"))
    print(f"{suite.name}: {versions}", flush=True)
    # One untimed run each, so both sides start with warm file caches and compiled bytecode.
    run_once(python, sources, suite, plugin=False)
    run_once(python, sources, suite, plugin=True)
    off, on = Timing(), Timing()
    for index in range(repeat):
        # Alternate which side goes first, so a slow spell of the machine hits both.
        order = (False, True) if index % 2 == 0 else (True, False)
        for plugin in order:
            elapsed, outcomes, tail = run_once(python, sources, suite, plugin)
            timing = on if plugin else off
            timing.seconds.append(elapsed)
            timing.outcomes, timing.tail = outcomes, tail
            print(f"  {'with   ' if plugin else 'without'} plugin: {elapsed:6.2f} s  {tail}", flush=True)
    return off, on, versions


def _outcome_text(outcomes: dict[str, int]) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in outcomes.items()) or "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", action="append", choices=sorted(SUITES), help="run only this suite (repeatable)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per side (default 3)")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "wfasync-plugin-bench",
        help="where the suites' sources and venvs are kept (default: a folder in the temp dir)",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    names = args.suite or list(SUITES)
    rows = []
    for name in names:
        off, on, _ = measure(SUITES[name], args.workdir.resolve(), args.repeat)
        rows.append((name, off, on))
    print()
    print(f"{'suite':<24} {'without':>9} {'with':>9} {'ratio':>6}  outcome")
    failed = False
    for name, off, on in rows:
        best_off, best_on = min(off.seconds), min(on.seconds)
        same = off.outcomes == on.outcomes
        failed |= not same
        note = _outcome_text(on.outcomes) if same else (
            f"DIFFERENT: without {_outcome_text(off.outcomes)}; with {_outcome_text(on.outcomes)}"
        )
        print(f"{name:<24} {best_off:8.2f}s {best_on:8.2f}s {best_on / best_off:5.2f}x  {note}")
    print(f"(best of {args.repeat} runs per side; ratio = with the plugin / with -p no:wfasync)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
