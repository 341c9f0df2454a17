"""[tool.wfasync] in pyproject.toml: every key checked, a bad one is one line naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import run_wfasync, write

from flake8_wfasync.app.project_config import (
    config_from_mapping,
    find_pyproject,
    load_pyproject,
)
from flake8_wfasync.config import Config, ConfigError


def test_full_table_builds_the_config(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", """
[project]
name = "demo"

[tool.wfasync]
scope = "steps"
extra-blocking = { "mylib.fetch" = "use mylib.afetch" }
allow = ["mylib.cached", "vendored."]
select = ["WFA1", "WFA201"]
ignore = ["WFA109"]
exclude = ["migrations/", "*_pb2.py"]
""")
    config = load_pyproject(tmp_path / "pyproject.toml")
    assert config == Config(
        scope="steps",
        extra_blocking={"mylib.fetch": "use mylib.afetch"},
        allow=frozenset({"mylib.cached", "vendored."}),
        select=frozenset({"WFA1", "WFA201"}),
        ignore=frozenset({"WFA109"}),
        exclude=("migrations/", "*_pb2.py"),
    )
    assert config.code_enabled("WFA101") and not config.code_enabled("WFA109")
    assert not config.code_enabled("WFA301")


def test_underscores_and_list_of_extra_names() -> None:
    config = config_from_mapping({"extra_blocking": ["mylib.fetch"]})
    assert list(config.extra_blocking) == ["mylib.fetch"]
    assert "to_thread" in config.extra_blocking["mylib.fetch"]


def test_missing_table_is_the_default(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[project]\nname = 'x'\n")
    assert load_pyproject(tmp_path / "pyproject.toml") == Config()


def test_nearest_pyproject_is_found_from_a_subfolder(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "")
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    assert find_pyproject(sub) == (tmp_path / "pyproject.toml").resolve()


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"scope": "everything"}, "scope"),
        ({"scope": 3}, "scope"),
        ({"select": ["E501"]}, "select"),
        ({"ignore": "WFAX"}, "ignore"),
        ({"allow": [1]}, "allow"),
        ({"allow": ["not a name"]}, "allow"),
        ({"extra-blocking": {"mylib.fetch": 1}}, "extra-blocking"),
        ({"extra-blocking": {"not a name": "x"}}, "extra-blocking"),
        ({"extra-blocking": 5}, "extra-blocking"),
        ({"exclude": {"a": 1}}, "exclude"),
        ({"scopes": "steps"}, "scopes"),
        ({"extra-blocking": [], "extra_blocking": []}, "extra_blocking"),
    ],
)
def test_bad_values_name_the_key(table: dict, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        config_from_mapping(table)
    message = str(err.value)
    assert "\n" not in message
    assert f"'{key}'" in message


def test_unknown_key_suggests_the_close_one() -> None:
    with pytest.raises(ConfigError, match="did you mean 'exclude'"):
        config_from_mapping({"exlude": []})


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[tool.wfasync]\nscope = "sometimes"\n', "key 'scope'"),
        ("[tool.wfasync]\nselect = [\n", "invalid TOML"),
        ('[tool]\nwfasync = "x"\n', "[tool.wfasync] must be a table"),
        ("[tool.wfasync]\nignore = ['WFA1', 2]\n", "key 'ignore'"),
    ],
)
def test_command_reports_a_broken_config_in_one_line(tmp_path: Path, text: str, needle: str) -> None:
    write(tmp_path, "pyproject.toml", text)
    write(tmp_path, "app.py", "x = 1\n")
    result = run_wfasync("check", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert needle in lines[0]
    assert "pyproject.toml" in lines[0]
    assert "Traceback" not in result.stderr


def test_load_nearest(tmp_path: Path) -> None:
    from flake8_wfasync.app.project_config import load_nearest

    assert load_nearest(tmp_path) == (Config(), None)
    write(tmp_path, "pyproject.toml", '[tool.wfasync]\nscope = "steps"\n')
    (tmp_path / "src").mkdir()
    config, path = load_nearest(tmp_path / "src")
    assert config.scope == "steps" and path == (tmp_path / "pyproject.toml").resolve()
