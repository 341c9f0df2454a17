"""The results cache: reuse by stat, then by content; never trusted when broken."""

from __future__ import annotations

import json
import os
from pathlib import Path

from flake8_wfasync.app.cache import ResultCache, content_digest, make_key


def test_round_trip_and_lookups(tmp_path: Path) -> None:
    src = tmp_path / "a.py"
    src.write_text("x = 1\n")
    st = os.stat(src)
    key = make_key("async")
    cache = ResultCache.open(tmp_path / "c", key)
    result = {"findings": [{"code": "WFA103", "line": 1}], "lines": {}, "error": None}
    cache.store(str(src), st, content_digest(src.read_bytes()), result)
    cache.save()
    again = ResultCache.open(tmp_path / "c", key)
    assert again.by_stat(str(src), st) == result
    # Same content, new mtime: found by content, and the stat is refreshed.
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    st2 = os.stat(src)
    assert again.by_stat(str(src), st2) is None
    assert again.by_content(str(src), st2, content_digest(src.read_bytes())) == result
    assert again.by_stat(str(src), st2) == result
    # New content: a miss.
    src.write_text("x = 2\n")
    assert again.by_content(str(src), os.stat(src), content_digest(src.read_bytes())) is None


def test_other_settings_use_another_file(tmp_path: Path) -> None:
    assert make_key("async") != make_key("steps")
    a = ResultCache.open(tmp_path, make_key("async"))
    b = ResultCache.open(tmp_path, make_key("steps"))
    assert a.file != b.file


def test_corrupt_cache_is_ignored(tmp_path: Path) -> None:
    key = make_key("x")
    cache = ResultCache.open(tmp_path, key)
    tmp_path.mkdir(exist_ok=True)
    cache.file.write_text("{not json")
    assert ResultCache.open(tmp_path, key).entries == {}
    cache.file.write_text(json.dumps({"format": 1, "key": key, "files": {"a": [1]}}))
    assert ResultCache.open(tmp_path, key).entries == {}


def test_cache_folder_ignores_itself(tmp_path: Path) -> None:
    cache = ResultCache.open(tmp_path / ".wfasync_cache", make_key())
    cache.store("/x.py", os.stat(tmp_path), "d", {"findings": []})
    cache.save()
    assert (tmp_path / ".wfasync_cache" / ".gitignore").read_text().strip().endswith("*")
    assert [p.name for p in (tmp_path / ".wfasync_cache").iterdir() if p.suffix == ".tmp"] == []


def test_project_index_tag_reanalyses_only_the_files_it_affects(tmp_path: Path, monkeypatch) -> None:
    """The seam for whole-project analysis: a result is reused only while the index says
    nothing changed for that file (``digest_for``)."""
    from flake8_wfasync.analysis import walker
    from flake8_wfasync.analysis.project_index import ProjectIndex
    from flake8_wfasync.app import runner
    from flake8_wfasync.config import Config

    real = walker.analyze_module
    seen_index = []

    def analyze_module(module, path, config, index=None, **given):
        seen_index.append(index)
        return real(module, path, config, index, **given)

    monkeypatch.setattr(walker, "analyze_module", analyze_module)

    def Index(tags):  # noqa: N802 - an index of no modules, with the tags a run would give
        index = ProjectIndex({}, Config())
        index.tags = {str(tmp_path / name): tag for name, tag in tags.items()}
        return index

    files = []
    for name in ("a.py", "b.py", "c.py"):
        path = tmp_path / name
        path.write_text("import time\n\n\nasync def f():\n    time.sleep(1)\n")
        files.append(path)
    key = make_key("index-test")
    index = Index({"a.py": "1", "b.py": "1", "c.py": "1"})

    def run(idx):
        cache = ResultCache.open(tmp_path / "cache", key)
        result = runner.check_paths(files, Config(), cache=cache, jobs=1, index=idx)
        cache.save()
        return result

    first = run(index)
    assert first.files_analysed == 3 and len(first.findings) == 3
    assert len(seen_index) == 3 and all(i is index for i in seen_index)
    assert run(index).cache_hits == 3
    changed = run(Index({"a.py": "1", "b.py": "2", "c.py": "1"}))
    assert (changed.cache_hits, changed.files_analysed) == (2, 1)
    assert len(changed.findings) == 3
