"""Analyzer settings shared by the flake8 plugin and the ``wfasync`` command.

One project has one truth: flake8 options and ``[tool.wfasync]`` in pyproject.toml
both end up as a :class:`Config`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal, Mapping

from .knowledge.rules import OPT_IN_CODES

Scope = Literal["async", "steps"]
SCOPES: tuple[str, ...] = ("async", "steps")


class ConfigError(ValueError):
    """A setting that cannot be used; the message is one line naming the key."""


@dataclass(frozen=True)
class Config:
    # "async": every coroutine function; "steps": workflow steps and the coroutines they await.
    scope: Scope = "async"
    # Qualified name -> advice text, reported as WFA199.
    extra_blocking: Mapping[str, str] = field(default_factory=dict)
    # Qualified names never flagged (a prefix "mylib." allows a whole module).
    allow: frozenset[str] = frozenset()
    # Rule codes or prefixes to report / to drop (CLI; flake8 has its own select/ignore).
    select: frozenset[str] = frozenset()
    ignore: frozenset[str] = frozenset()
    # Glob patterns of paths the CLI skips.
    exclude: tuple[str, ...] = ()
    # Report every code, opt-in ones included: the caller filters (the cache, flake8).
    every_code: bool = False

    def code_enabled(self, code: str) -> bool:
        if self.every_code:
            return True
        if code in OPT_IN_CODES:
            return code in self.select  # only when named in full, not by a prefix
        if self.select and not any(code.startswith(s) for s in self.select):
            return False
        return not any(code.startswith(i) for i in self.ignore)

    def is_allowed(self, qualname: str) -> bool:
        return any(
            qualname == a or (a.endswith(".") and qualname.startswith(a)) or qualname.startswith(a + ".")
            for a in self.allow
        )


DEFAULT_CONFIG = Config()


def analysis_config(config: Config) -> Config:
    """The settings the analysis sees: select/ignore are applied to its findings afterwards,
    so that toggling them reuses cached results."""
    return dataclasses.replace(config, select=frozenset(), ignore=frozenset(), exclude=(), every_code=True)
