"""The results cache: reuse by stat, then by content; never trusted when broken."""

from __future__ import annotations

import json
import os
from pathlib import Path

from flake8_wfasync.cache import ResultCache, content_digest, make_key


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
