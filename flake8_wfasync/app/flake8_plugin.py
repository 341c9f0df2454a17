"""flake8 adapter over the analyzer: options in, findings out as flake8 tuples.

Options (command line, or ``[flake8]`` in setup.cfg / tox.ini / .flake8)::

    --wfasync-scope=steps              async (every coroutine, default) or steps
    --wfasync-extra-blocking=mylib.fetch=use mylib.afetch, other.call
    --wfasync-allow=mylib.cached_get,vendored.
    --wfasync-per-file                 WFA201 within each file only (default: follow imports)

Like ``wfasync check``, the plugin follows imports between the project's own modules for
WFA201, reading and adding to the same module summaries in ``.wfasync_cache/`` at the project
root (the folder of the nearest pyproject.toml, else the current folder): a run on one file
summarises only the modules it calls into, and only those the cache does not hold yet.

``--wfasync-extra-blocking`` lists qualified names reported as WFA199. Entries are separated
by commas or newlines; ``name=advice`` attaches advice, which runs to the end of its line (so
it may contain commas) and must therefore come last on that line.

The starting point is ``[tool.wfasync]`` in the nearest pyproject.toml (the table the
``wfasync`` command reads), read once per flake8 process; an option given to flake8 replaces
the table's value for that key. ``select``, ``ignore`` and ``exclude`` of the table are left to
flake8's own options of the same names.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from .. import __version__
from ..analysis.project_index import lazy_index_for
from ..analysis.walker import analyze_text
from ..config import DEFAULT_CONFIG, SCOPES, Config, ConfigError
from ..knowledge.rules import OPT_IN_CODES
from ..source import SourceParseError
from .cache import CACHE_DIR_NAME
from .project_config import load_nearest

_QUALNAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*\.?$")


def parse_extra_blocking(text: str) -> dict[str, str]:
    """``"a.b, c.d=advice, with comma\\ne.f"`` -> ``{"a.b": "", "c.d": "advice, with comma", "e.f": ""}``."""
    out: dict[str, str] = {}
    for raw in text.replace("\r", "\n").split("\n"):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        names_part, eq, advice = line.partition("=")
        names = [n.strip() for n in names_part.split(",")]
        if names and not names[-1] and not eq:
            names.pop()  # a trailing comma
        for i, name in enumerate(names):
            if not name or not _QUALNAME.match(name) or name.endswith("."):
                raise ConfigError(
                    f"--wfasync-extra-blocking: {name!r} is not a qualified name like "
                    f"'package.module.function' (entries: name or name=advice, separated by "
                    f"commas or newlines)"
                )
            out[name] = advice.strip() if eq and i == len(names) - 1 else ""
    return out


def parse_allow(text: str) -> frozenset[str]:
    out = set()
    for item in re.split(r"[,\s]+", text):
        if not item:
            continue
        if not _QUALNAME.match(item):
            raise ConfigError(
                f"--wfasync-allow: {item!r} is not a qualified name like 'package.module.function' "
                f"(or a prefix ending in '.')"
            )
        out.add(item)
    return frozenset(out)


def config_from_options(scope: Any, extra: Any, allow: Any, base: Config = DEFAULT_CONFIG) -> Config:
    """flake8's options over ``base`` (the project's ``[tool.wfasync]``). An option that was not
    given (None) keeps the base value; one that was given replaces it. select, ignore and
    exclude are flake8's business, so the base's are dropped."""
    changes: dict[str, Any] = {"select": frozenset(), "ignore": frozenset(), "exclude": (), "every_code": True}
    if isinstance(scope, str):
        scope = scope.strip() or None
    if scope is not None:
        if scope not in SCOPES:
            raise ConfigError(
                f"--wfasync-scope: must be one of {', '.join(SCOPES)}, got {scope!r}"
            )
        changes["scope"] = scope
    if extra is not None:
        changes["extra_blocking"] = parse_extra_blocking(_as_text(extra))
    if allow is not None:
        changes["allow"] = parse_allow(_as_text(allow))
    return dataclasses.replace(base, **changes)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "\n".join(str(v) for v in value)
    return str(value)


class WfasyncChecker:
    name = "flake8-wfasync"
    version = __version__
    config: ClassVar[Config] = DEFAULT_CONFIG
    cross_module: ClassVar[bool] = False
    cache_dir: ClassVar[Path | None] = None
    # The opt-in codes flake8 was asked for by their full code (--select / --extend-select).
    opt_in: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, tree: ast.AST, lines: list[str], filename: str = "<stdin>") -> None:
        self.tree = tree
        self.lines = lines
        self.filename = filename

    @classmethod
    def add_options(cls, manager: Any) -> None:
        # Opt-in rules (WFA304) are off unless named: ``--extend-select WFA304``.
        manager.extend_default_ignore(sorted(OPT_IN_CODES))
        manager.add_option(
            "--wfasync-scope", default=None, parse_from_config=True,
            help="What flake8-wfasync checks: 'async' (every coroutine function) or 'steps' "
                 "(workflow steps and the coroutines they call). Default: 'scope' of "
                 "[tool.wfasync] in pyproject.toml, else 'async'.",
        )
        manager.add_option(
            "--wfasync-extra-blocking", default=None, parse_from_config=True,
            help="Qualified names to report as blocking (WFA199), separated by commas or "
                 "newlines; 'name=advice' attaches advice (to the end of the line). Replaces "
                 "'extra-blocking' of [tool.wfasync].",
        )
        manager.add_option(
            "--wfasync-allow", default=None, parse_from_config=True,
            help="Qualified names never reported (comma separated; 'pkg.' allows a package). "
                 "Replaces 'allow' of [tool.wfasync].",
        )
        manager.add_option(
            "--wfasync-cross-module", action="store_true", default=True, parse_from_config=True,
            help="Follow imports between the project's own modules for WFA201, as `wfasync check` "
                 "does (the default; kept for old configurations).",
        )
        manager.add_option(
            "--wfasync-per-file", action="store_true", default=False, parse_from_config=True,
            help="Check each file on its own: WFA201 follows calls within the file only.",
        )

    @classmethod
    def parse_options(cls, options: Any) -> None:
        # flake8 calls this once per process (and once per worker it spawns), so the
        # pyproject.toml is read once, not per file. Defaults are None so that an option left
        # alone keeps the project's value.
        try:
            base, pyproject = load_nearest()
            cls.config = config_from_options(
                getattr(options, "wfasync_scope", None),
                getattr(options, "wfasync_extra_blocking", None),
                getattr(options, "wfasync_allow", None),
                base,
            )
            cls.cross_module = not getattr(options, "wfasync_per_file", False)
            # The summaries `wfasync check` keeps for the same project root: an editor's run on
            # one file reads them instead of parsing the modules that file calls into.
            root = pyproject.parent if pyproject is not None else Path.cwd()
            cls.cache_dir = root / CACHE_DIR_NAME
            named = {*(getattr(options, "select", None) or ()), *(getattr(options, "extend_select", None) or ())}
            cls.opt_in = OPT_IN_CODES & {str(c).strip().upper() for c in named}
        except ConfigError as exc:
            # One clear line and exit status 1, instead of a traceback from inside flake8.
            raise SystemExit(f"flake8-wfasync: {exc}") from None

    def run(self) -> Iterator[tuple[int, int, str, type[Any]]]:
        source = "".join(self.lines)
        if "async" not in source:
            return
        try:
            # The project's other modules, summarised lazily once per process (WFA201).
            index = lazy_index_for(self.filename, self.config, self.cache_dir) if self.cross_module else None
            findings = analyze_text(source, self.tree, self.filename, self.config, index)  # type: ignore[arg-type]
        except SourceParseError as exc:
            # flake8 reports Python syntax errors itself (E999); this is the rare file that
            # the ast module accepts and libcst does not.
            print(f"flake8-wfasync: skipped {exc}", file=sys.stderr)
            return
        for f in findings:
            if f.code in OPT_IN_CODES and f.code not in self.opt_in:
                continue
            yield f.line, f.col, f"{f.code} {f.message}", type(self)
