"""Commands that other packages add to ``wfasync``, found through an entry point group.

An entry point in the ``wfasync.commands`` group names a module (or any object) with
``HELP`` (its line in ``wfasync --help``), ``configure(parser)`` (adds its arguments to its
own argparse subparser) and ``run(args) -> int`` (does the work, prints its own messages,
returns the exit status). The runtime's ``wfasync timeline`` comes this way: the static
side never imports the runtime, and without the runtime the command is simply not offered.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TextIO

GROUP = "wfasync.commands"


@dataclass(frozen=True)
class PluginCommand:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def load_commands(reserved: Collection[str], warn: TextIO) -> dict[str, PluginCommand]:
    """The commands declared in the group, by name; a name taken by a built-in command (or
    by an earlier entry point) is skipped, and one that fails to load is a warning on
    ``warn``, so a broken plugin never breaks the built-in commands."""
    from importlib.metadata import entry_points

    found: dict[str, PluginCommand] = {}
    for point in entry_points(group=GROUP):
        if point.name in reserved or point.name in found:
            continue
        try:
            target = point.load()
            command = PluginCommand(point.name, str(target.HELP), target.configure, target.run)
        except Exception as exc:  # noqa: BLE001 - whatever a third-party module raises on import
            print(
                f"wfasync: warning: the command {point.name!r} ({point.value}) could not be loaded: "
                f"{type(exc).__name__}: {exc}",
                file=warn,
            )
            continue
        found[point.name] = command
    return found
