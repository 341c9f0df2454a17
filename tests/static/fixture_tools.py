"""Reading annotated fixture files (``# expect: WFA101``) and stripping async from them."""

from __future__ import annotations

import io
import json
import re
import textwrap
import tokenize
from pathlib import Path

from flake8_wfasync.config import Config

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
_EXPECT = re.compile(r"#\s*expect:\s*(.+?)\s*$")
_CONFIG = re.compile(r"^#\s*fixture-config:\s*(\{.*\})\s*$", re.M)


def fixture_files() -> list[Path]:
    return sorted(FIXTURES.rglob("*.py"))


def expected(source: str) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            m = _EXPECT.search(tok.string)
            if m:
                out[tok.start[0]] = {c.strip() for c in m.group(1).split(",") if c.strip()}
    return out


def fixture_config(source: str) -> Config:
    m = _CONFIG.search(source)
    if not m:
        return Config()
    raw = json.loads(m.group(1))
    return Config(
        scope=raw.get("scope", "async"),
        extra_blocking=raw.get("extra_blocking", {}),
        allow=frozenset(raw.get("allow", ())),
        select=frozenset(raw.get("select", ())),
    )


def by_line(findings) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for f in findings:
        out.setdefault(f.line, set()).add(f.code)
    return out


def strip_async(source: str) -> str:
    """Remove every ``async`` and ``await`` keyword (and the space after it), keeping lines."""
    lines = source.splitlines(keepends=True)
    cuts: dict[int, list[int]] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NAME and tok.string in ("async", "await"):
            cuts.setdefault(tok.start[0], []).append(tok.start[1])
    for lineno, cols in cuts.items():
        line = lines[lineno - 1]
        for col in sorted(cols, reverse=True):
            end = col + 5
            while end < len(line) and line[end] in " \t":
                end += 1
            line = line[:col] + line[end:]
        lines[lineno - 1] = line
    return "".join(lines)


def write_package(root: Path, files: dict[str, str]) -> list[Path]:
    """Write a small project under ``root``: ``pkg/__init__.py`` plus ``files`` (dedented);
    the paths written, sorted."""
    paths = []
    for name, body in {"pkg/__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body), encoding="utf-8")
        paths.append(path)
    return sorted(paths)
