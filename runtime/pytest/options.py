"""Settings of the pytest plugin: command-line flags, ini keys and the ``wfasync`` marker.

Every value is checked once, with a one-line message naming the flag, key or marker, so a
typo becomes a usage error instead of a silently ignored setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from runtime.detect.threshold import DEFAULT_THRESHOLD, check_threshold

MODES: tuple[str, ...] = ("warn", "error", "off")
DEFAULT_MODE = "warn"

_TRUE = {"on", "true", "yes", "1"}
_FALSE = {"off", "false", "no", "0"}

MARKER_KEYS: tuple[str, ...] = ("threshold", "mode", "strict")


class SettingError(ValueError):
    """A setting that cannot be used; the message is one line naming where it came from."""


@dataclass(frozen=True)
class Settings:
    threshold: float = DEFAULT_THRESHOLD
    mode: str = DEFAULT_MODE
    strict: bool = False

    @property
    def active(self) -> bool:
        return self.mode != "off"

    def describe(self) -> str:
        return f"mode {self.mode}, threshold {format_seconds(self.threshold)}, strict {'on' if self.strict else 'off'}"


def format_seconds(value: float) -> str:
    return f"{value:g} s"


def parse_threshold(raw: Any, source: str) -> float:
    try:
        return check_threshold(raw, f"{source}: threshold")
    except ValueError as exc:
        raise SettingError(str(exc)) from None


def parse_mode(raw: Any, source: str) -> str:
    value = raw.strip().lower() if isinstance(raw, str) else raw
    if value not in MODES:
        raise SettingError(f"{source}: mode must be one of {', '.join(MODES)}; got {raw!r}")
    return value


def parse_switch(raw: Any, source: str) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
        return raw.strip().lower() in _TRUE
    raise SettingError(f"{source}: strict must be on or off, got {raw!r}")


def from_sources(cli: Mapping[str, Any], ini: Mapping[str, Any]) -> Settings:
    """The session's settings: a command-line flag wins over its ini key, which wins over the default.

    ``cli`` and ``ini`` hold raw values under ``threshold``, ``mode`` and ``strict``; ``None`` or
    an empty string means "not given".
    """
    settings = Settings()

    def pick(key: str) -> tuple[Any, str] | None:
        if cli.get(key) not in (None, ""):
            return cli[key], f"--wfasync-{key}"
        if ini.get(key) not in (None, ""):
            return ini[key], f"ini option wfasync_{key}"
        return None

    if (got := pick("threshold")) is not None:
        settings = replace(settings, threshold=parse_threshold(*got))
    if (got := pick("mode")) is not None:
        settings = replace(settings, mode=parse_mode(*got))
    if (got := pick("strict")) is not None:
        settings = replace(settings, strict=parse_switch(*got))
    return settings


def apply_marker(settings: Settings, args: tuple[Any, ...], kwargs: Mapping[str, Any], where: str) -> Settings:
    """``settings`` overridden by one ``@pytest.mark.wfasync(...)``; ``where`` names the test."""
    source = f"{where}: @pytest.mark.wfasync"
    if args:
        raise SettingError(
            f"{source} takes keyword arguments only ({', '.join(MARKER_KEYS)}), got positional {args!r}"
        )
    unknown = sorted(set(kwargs) - set(MARKER_KEYS))
    if unknown:
        raise SettingError(
            f"{source}: unknown argument {', '.join(map(repr, unknown))}; expected {', '.join(MARKER_KEYS)}"
        )
    if "threshold" in kwargs:
        settings = replace(settings, threshold=parse_threshold(kwargs["threshold"], source))
    if "mode" in kwargs:
        if not isinstance(kwargs["mode"], str):
            raise SettingError(f"{source}: mode must be one of {', '.join(MODES)}; got {kwargs['mode']!r}")
        settings = replace(settings, mode=parse_mode(kwargs["mode"], source))
    if "strict" in kwargs:
        if not isinstance(kwargs["strict"], bool):
            raise SettingError(f"{source}: strict must be True or False, got {kwargs['strict']!r}")
        settings = replace(settings, strict=kwargs["strict"])
    return settings
