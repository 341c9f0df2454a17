"""Commands other packages add to ``wfasync`` through the ``wfasync.commands`` entry points.

The runtime's ``timeline`` is tested end to end in tests/timeline; here, what a broken or
clashing entry point does to the command line.
"""

from __future__ import annotations

import importlib.metadata
from importlib.metadata import EntryPoint

import pytest

from flake8_wfasync.app.cli import main
from flake8_wfasync.app.command_plugins import GROUP


def _offer(monkeypatch: pytest.MonkeyPatch, *points: EntryPoint) -> None:
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: list(points) if group == GROUP else [])


def test_a_command_that_fails_to_load_is_a_warning_and_the_others_still_work(monkeypatch, capsys) -> None:
    _offer(
        monkeypatch,
        EntryPoint(name="broken", value="no_such_module_for_wfasync:command", group=GROUP),
        EntryPoint(name="check", value="no_such_module_either:command", group=GROUP),  # a built-in's name
    )
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out, err = capsys.readouterr()
    assert err == (
        "wfasync: warning: the command 'broken' (no_such_module_for_wfasync:command) could not be loaded: "
        "ModuleNotFoundError: No module named 'no_such_module_for_wfasync'\n"
    )
    assert "check" in out and "broken" not in out


def test_built_in_commands_start_without_scanning_entry_points(monkeypatch, capsys) -> None:
    def scan(group: str) -> list[EntryPoint]:
        raise AssertionError("entry points scanned for a built-in command")

    monkeypatch.setattr(importlib.metadata, "entry_points", scan)
    assert main(["explain", "WFA103"]) == 0
    assert "time.sleep" in capsys.readouterr().out

