"""Which files a run checks: gitignore-style excludes from three places, explicit files."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import write

from flake8_wfasync.app.discovery import DiscoveryError, compile_pattern, discover


def _rel(files: list[Path], root: Path) -> list[str]:
    return sorted(str(Path(f).resolve().relative_to(root.resolve())).replace("\\", "/") for f in files)


@pytest.mark.parametrize(
    ("pattern", "path", "is_dir", "matches"),
    [
        ("*.py", "a/b/c.py", False, True),
        ("/build_*.py", "build_x.py", False, True),
        ("/build_*.py", "sub/build_x.py", False, False),
        ("docs/", "docs", True, True),
        ("docs/", "docs", False, False),
        ("a/**/z.py", "a/z.py", False, True),
        ("a/**/z.py", "a/b/c/z.py", False, True),
        ("**/gen", "x/y/gen", True, True),
        ("gen", "x/gen", True, True),
        ("f?o.py", "foo.py", False, True),
        ("f[0-9].py", "f7.py", False, True),
        ("f[!0-9].py", "f7.py", False, False),
        ("legacy/old.py", "src/legacy/old.py", False, False),
    ],
)
def test_gitignore_pattern_semantics(pattern: str, path: str, is_dir: bool, matches: bool) -> None:
    compiled = compile_pattern(pattern)
    assert compiled is not None
    assert compiled.matches(path, is_dir) is matches


def test_comments_and_blank_lines_are_not_patterns() -> None:
    assert compile_pattern("# a comment") is None
    assert compile_pattern("   ") is None


def test_walk_honours_gitignore_config_and_command_line(tmp_path: Path) -> None:
    for rel in ["app/main.py", "app/gen/models_pb2.py", "app/keep_pb2.py", "scripts/tool.py",
                "legacy/old.py", "notes.txt", ".venv/lib/x.py", "pkg/__pycache__/m.py",
                "build/lib/y.py", "sub/.gitignore", "sub/a.py", "sub/skip_me.py", "x.egg-info/z.py"]:
        write(tmp_path, rel, "" if not rel.endswith(".gitignore") else "skip_*.py\n")
    write(tmp_path, ".gitignore", "*_pb2.py\n!keep_pb2.py\n")
    files = discover([tmp_path], tmp_path, exclude=["legacy/"])
    assert _rel(files, tmp_path) == ["app/keep_pb2.py", "app/main.py", "scripts/tool.py", "sub/a.py"]
    files = discover([tmp_path], tmp_path, exclude=["legacy/", "/scripts"], use_gitignore=False)
    assert _rel(files, tmp_path) == ["app/gen/models_pb2.py", "app/keep_pb2.py", "app/main.py",
                                     "sub/a.py", "sub/skip_me.py"]


def test_explicit_files_are_checked_unless_force_exclude(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", "generated/\n")
    target = write(tmp_path, "generated/out.py", "")
    other = write(tmp_path, "ok.py", "")
    assert _rel(discover([target], tmp_path), tmp_path) == ["generated/out.py"]
    assert _rel(discover([target, other], tmp_path, force_exclude=True), tmp_path) == ["ok.py"]


def test_an_ignored_folder_named_on_the_command_line_is_walked(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", "vendor/\n")
    write(tmp_path, "vendor/lib/x.py", "")
    write(tmp_path, "vendor/lib/y_pb2.py", "")
    files = discover([tmp_path / "vendor"], tmp_path, exclude=["*_pb2.py"])
    assert _rel(files, tmp_path) == ["vendor/lib/x.py"]
    assert discover([tmp_path], tmp_path) == []
    assert discover([tmp_path / "vendor"], tmp_path, force_exclude=True) == []
    # A file under an ignored folder, named explicitly with force_exclude, is excluded too.
    assert discover([tmp_path / "vendor" / "lib" / "x.py"], tmp_path, force_exclude=True) == []


def test_duplicates_collapse_and_order_is_stable(tmp_path: Path) -> None:
    a = write(tmp_path, "a.py", "")
    write(tmp_path, "b/c.py", "")
    files = discover([tmp_path, a, tmp_path / "b"], tmp_path)
    assert _rel(files, tmp_path) == ["a.py", "b/c.py"]


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DiscoveryError, match="nope.py: no such file"):
        discover([tmp_path / "nope.py"], tmp_path)
