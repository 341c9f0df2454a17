"""`wfasync fix` on real code (the standard library's asyncio package, copied): what it writes
compiles, loses no finding it did not fix, gains none, and a second run changes nothing."""

from __future__ import annotations

import asyncio
import compileall
import json
import shutil
from collections import Counter
from pathlib import Path

from cli_helpers import run_wfasync


def _findings(root: Path) -> Counter:
    result = run_wfasync("check", "--isolated", "--format", "json", ".", cwd=root)
    report = json.loads(result.stdout)
    assert report["errors"] == []
    return Counter((f["path"], f["code"], f["qualname"]) for f in report["findings"])


def test_fix_on_the_asyncio_package(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    shutil.copytree(Path(asyncio.__file__).parent, root / "asyncio",
                    ignore=shutil.ignore_patterns("__pycache__"))
    originals = {p: p.read_bytes() for p in root.rglob("*.py")}
    before = _findings(root)
    assert before, "the corpus should hold blocking calls in coroutines"

    first = run_wfasync("fix", "--isolated", ".", cwd=root)
    assert first.returncode in (0, 1), first.stderr
    assert "error:" not in first.stdout, first.stdout
    changed = [p for p, data in originals.items() if p.read_bytes() != data]
    n_fixed = sum(1 for line in first.stdout.splitlines() if ": fixed WFA" in line)
    assert changed and n_fixed > 0

    assert compileall.compile_dir(str(root), quiet=1, force=True)
    after = _findings(root)
    assert not (after - before), "a rewrite added findings"
    assert sum(before.values()) - sum(after.values()) == n_fixed
    for path in changed:  # rewrites of a file keep every other line as it was
        old, new = originals[path].decode().splitlines(), path.read_text().splitlines()
        assert len(new) - len(old) in (0, 1)  # at most the added import asyncio

    second = run_wfasync("fix", "--isolated", "--diff", ".", cwd=root)
    assert "+++ " not in second.stdout
    assert "Would fix 0 problems in 0 files" in second.stdout
