"""The pinned real-code corpus for the lint benchmarks: released packages nobody here wrote.

Fetched once with ``pip download`` (wheels only, never installed, never imported) and unpacked
into ``bench/.corpus/`` (git-ignored). Only the ``.py`` files are kept.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS_DIR = HERE / ".corpus"
# Pure-Python content; the platform is fixed so every machine gets the very same files.
PINS: tuple[str, ...] = ("llama-index-core==0.12.52", "aiohttp==3.12.15")
_PLATFORM_ARGS = ("--platform", "manylinux2014_x86_64", "--python-version", "3.11",
                  "--implementation", "cp", "--abi", "cp311")


def _target(pin: str) -> Path:
    name, _, version = pin.partition("==")
    return CORPUS_DIR / f"{name}-{version}"


def fetch(pin: str) -> Path:
    target = _target(pin)
    if (target / ".complete").exists():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
               "--only-binary", ":all:", *_PLATFORM_ARGS, "-d", tmp, pin]
        subprocess.run(cmd, check=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if len(wheels) != 1:
            raise RuntimeError(f"pip download {pin}: expected one wheel, got {wheels}")
        target.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheels[0]) as zf:
            for info in zf.infolist():
                if info.filename.endswith(".py") and ".." not in info.filename:
                    zf.extract(info, target)
    (target / ".complete").write_text(pin + "\n")
    return target


def corpus_dirs() -> list[Path]:
    """One folder per pinned package, fetched on first use."""
    return [fetch(pin) for pin in PINS]


def corpus_files() -> list[Path]:
    return sorted(p for d in corpus_dirs() for p in d.rglob("*.py"))


if __name__ == "__main__":
    files = corpus_files()
    print(f"{len(files)} files, {sum(p.stat().st_size for p in files) / 1e6:.1f} MB in {CORPUS_DIR}")
