"""flake8 adapter over the analyzer."""

from __future__ import annotations

import ast
from typing import Any, Iterator


class WfasyncChecker:
    name = "flake8-wfasync"
    version = "0.1.0"

    def __init__(self, tree: ast.AST, lines: list[str], filename: str = "<stdin>") -> None:
        self.tree = tree

    def run(self) -> Iterator[tuple[int, int, str, type[Any]]]:
        return iter(())
