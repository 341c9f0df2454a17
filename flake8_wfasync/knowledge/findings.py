"""The result types every part of the static side speaks: a Finding, and the Chain by which
a project function blocks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Finding:
    """One blocking call (or misuse) found in one place.

    ``line`` is 1-based and ``col`` 0-based, as flake8 reports them.
    ``message`` is the full human text without the code, e.g.
    ``"requests.get(url) blocks the event loop in step 'fetch' of MyFlow: use
    await asyncio.to_thread(requests.get, url), or make the step a plain def"``.
    """

    code: str
    line: int
    col: int
    message: str
    path: str = "<string>"
    # Qualified name of the blocking callable, when one was resolved ("requests.get").
    qualname: str | None = None
    # Enclosing coroutine function name, and the workflow step / class when it is one.
    function: str | None = None
    step: str | None = None
    workflow: str | None = None
    # The concrete advice for this call (also embedded in ``message``).
    advice: str = ""
    # The async replacement when one exists: a callable ("asyncio.sleep") for a function,
    # or a method name ("acomplete") for a method on the same object. Used by fixes.
    twin: str | None = None
    # End position of the flagged node (1-based line, 0-based col), for SARIF regions.
    end_line: int | None = None
    end_col: int | None = None
    # A blocking method called on this call's result (``Path(p).resolve().read_text()``):
    # offloading this call alone would leave that one on the loop.
    feeds: str | None = None
    # What runs the blocking work when the call itself runs none of it: "iterator" (a
    # generator function: iterating the result blocks), "context" (a @contextmanager one:
    # entering the with-block blocks), "scan" (a lazy directory scan of the catalog).
    lazy: str | None = None
    # The libcst node that was flagged, so fixes can find it by identity. Not compared.
    node: Any = field(default=None, compare=False, repr=False, hash=False)


@dataclass(frozen=True)
class Chain:
    """How a project function blocks: the functions called, in order, and the blocking call.

    ``steps`` are ``(module, name)`` pairs (``("pkg.db", "Loader.load")``); ``module`` is ""
    for a function of the module being analysed when it has no known module name."""

    steps: tuple[tuple[str, str], ...]
    call: str
    path: str
    line: int

    def prepend(self, module: str, name: str) -> Chain:
        return Chain(((module, name), *self.steps), self.call, self.path, self.line)
