"""``[tool.wfasync]`` in pyproject.toml -> :class:`Config`.

The flake8 plugin and the ``wfasync`` command read the same table, so a project states its
settings once. Every key and value is checked; a bad one is a :class:`ConfigError` whose
message is one line naming the key.

Keys (dashes and underscores are interchangeable)::

    [tool.wfasync]
    scope = "async"                       # or "steps"
    extra-blocking = { "mylib.fetch" = "use mylib.afetch" }   # or a list of names
    allow = ["mylib.cached_get", "vendored."]
    select = ["WFA1"]
    ignore = ["WFA109"]
    exclude = ["migrations/*", "legacy/"]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..config import SCOPES, Config, ConfigError


def _toml_module() -> Any:
    """tomllib, or tomli before Python 3.11; None without either. Imported only when a
    pyproject.toml is read: a check in a folder without one does not pay for it."""
    try:  # Python 3.11+
        import tomllib

        return tomllib
    except ImportError:  # pragma: no cover - Python 3.10
        try:
            import tomli  # type: ignore[import-not-found]

            return tomli
        except ImportError:
            return None

KEYS = ("scope", "extra-blocking", "allow", "select", "ignore", "exclude")
_CODE_PREFIX = re.compile(r"^WFA\d{0,3}$")
_QUALNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\.?$")
DEFAULT_EXTRA_ADVICE = "listed as blocking in the project configuration: use await asyncio.to_thread(...)"


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above ``start`` (a file or a folder)."""
    start = start.resolve()
    folder = start if start.is_dir() else start.parent
    for candidate in (folder, *folder.parents):
        path = candidate / "pyproject.toml"
        if path.is_file():
            return path
    return None


def load_pyproject(path: Path) -> Config:
    """Read ``[tool.wfasync]`` from one pyproject.toml; a missing table is the default Config."""
    _toml = _toml_module()
    if _toml is None:  # pragma: no cover - Python 3.10 without tomli
        raise ConfigError(f"{path}: reading pyproject.toml on this Python needs the 'tomli' package")
    try:
        data = _toml.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except _toml.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    table = data.get("tool", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool] must be a table")
    section = table.get("wfasync")
    if section is None:
        return Config()
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [tool.wfasync] must be a table")
    return config_from_mapping(section, source=f"{path}: [tool.wfasync]")


def config_from_mapping(section: Mapping[str, Any], source: str = "[tool.wfasync]") -> Config:
    """Validate a ``[tool.wfasync]``-shaped mapping and build the Config it describes."""
    values: dict[str, Any] = {}
    seen: dict[str, str] = {}
    for raw_key, value in section.items():
        key = str(raw_key).replace("_", "-")
        if key not in KEYS:
            hint = _closest(key)
            raise ConfigError(
                f"{source}: unknown key '{raw_key}'" + (f" (did you mean '{hint}'?)" if hint else "")
                + f"; known keys: {', '.join(KEYS)}"
            )
        if key in seen:
            raise ConfigError(f"{source}: key '{raw_key}' given twice (as '{seen[key]}' too)")
        seen[key] = str(raw_key)
        values[key] = _PARSERS[key](value, f"{source}: key '{raw_key}'")
    return Config(
        scope=values.get("scope", "async"),
        extra_blocking=values.get("extra-blocking", {}),
        allow=values.get("allow", frozenset()),
        select=values.get("select", frozenset()),
        ignore=values.get("ignore", frozenset()),
        exclude=values.get("exclude", ()),
    )


def _closest(key: str) -> str | None:
    import difflib

    match = difflib.get_close_matches(key, KEYS, n=1, cutoff=0.6)
    return match[0] if match else None


def _scope(value: Any, where: str) -> str:
    if not isinstance(value, str) or value not in SCOPES:
        raise ConfigError(f"{where}: must be one of {', '.join(repr(s) for s in SCOPES)}, got {value!r}")
    return value


def _string_list(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ConfigError(f"{where}: must be a list of strings, got {type(value).__name__}")
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ConfigError(f"{where}: must be a list of non-empty strings, got {item!r}")
    return [item.strip() for item in value]


def _qualname(name: str, where: str) -> str:
    if not _QUALNAME.match(name):
        raise ConfigError(f"{where}: {name!r} is not a dotted Python name like 'package.module.function'")
    return name


def _extra_blocking(value: Any, where: str) -> dict[str, str]:
    if isinstance(value, list):
        return {_qualname(name, where): DEFAULT_EXTRA_ADVICE for name in _string_list(value, where)}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: must be a table of 'qualified.name' = \"advice\" or a list of names")
    out: dict[str, str] = {}
    for name, advice in value.items():
        _qualname(name, where)
        if not isinstance(advice, str):
            raise ConfigError(f"{where}: advice for {name!r} must be a string (\"\" for the default advice)")
        out[name] = advice.strip()
    return out


def _allow(value: Any, where: str) -> frozenset[str]:
    return frozenset(_qualname(name, where) for name in _string_list(value, where))


def _codes(value: Any, where: str) -> frozenset[str]:
    codes = _string_list(value, where)
    for code in codes:
        if not _CODE_PREFIX.match(code):
            raise ConfigError(f"{where}: {code!r} is not a rule code or prefix like 'WFA101' or 'WFA1'")
    return frozenset(codes)


def _exclude(value: Any, where: str) -> tuple[str, ...]:
    return tuple(_string_list(value, where))


_PARSERS = {
    "scope": _scope,
    "extra-blocking": _extra_blocking,
    "allow": _allow,
    "select": _codes,
    "ignore": _codes,
    "exclude": _exclude,
}


def load_nearest(start: Path | None = None) -> tuple[Config, Path | None]:
    """The Config of the nearest pyproject.toml at or above ``start`` (default: the current
    folder) and that file; the default Config and None when there is none. For the flake8
    plugin, so that flake8 and ``wfasync`` read one table."""
    found = find_pyproject(start or Path.cwd())
    if found is None:
        return Config(), None
    return load_pyproject(found), found
