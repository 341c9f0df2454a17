"""What the analysis asks of the project index (:class:`ProjectView`).

The walker, the call graph and the pre-check see the project only through these questions;
:class:`flake8_wfasync.analysis.project_index.ProjectIndex` answers them, built once per
``wfasync check`` run or lazily per flake8 process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import libcst as cst

    from ..knowledge.findings import Chain

__all__ = ["ProjectView"]


class ProjectView(Protocol):
    def module_of(self, path: str) -> str | None:
        """The project's module name for a file (``pkg.sub.db``), or None."""

    def package_of(self, path: str) -> str | None:
        """The package relative imports of the file start from, or None."""

    def is_project(self, qualname: str) -> bool:
        """Whether a qualified name belongs to the project's own modules."""

    def value(self, qualname: str) -> str | None:
        """What the project name ``qualname`` holds, as a resolver path (``"pathlib.Path()"``
        for ``pkg.config.FILES_DIRECTORY``, or for ``pkg.config.settings.rc_path``), or what
        the project function returns when ``qualname`` ends with ``()``; None when unknown."""

    def value_imports(self, qualname: str) -> frozenset[str]:
        """For the pre-check, without libcst: the imported names a value :meth:`value` may
        find for ``qualname`` can come from (empty when it finds none)."""

    def chain(self, qualname: str) -> Chain | None:
        """How the project function or method ``qualname`` blocks, or None."""

    def guarded(self, qualname: str) -> dict[str, Any] | None:
        """When every way ``qualname`` blocks is guarded by its parameters: its signature and
        each guarded path (see :meth:`ProjectIndex.guarded`); else None."""

    def class_ancestors(self, qualname: str) -> frozenset[str] | None:
        """The names of the project class ``qualname`` and of all its ancestors, when every
        one is known (see :mod:`flake8_wfasync.analysis.guard_logic`); else None."""

    def asked(self, path: str) -> list[str] | None:
        """While summarising ``path``: the functions of it asked for (None: all of them)."""

    def exact(self, path: str) -> bool:
        """While summarising ``path``: whether the summary must come from libcst."""

    def keep_parsed(self, path: str, text: str, module: cst.Module) -> None:
        """Keep the libcst module summarising parsed, for the analysis of the same file."""
