"""``wfasync fix``: libcst rewrites of blocking calls that can be rewritten safely.

:mod:`.plan` decides what one pass rewrites, :mod:`.rewrite` rewrites and checks the result,
:mod:`.files` reads, reports and writes files.

Rewrites (each keeps the surrounding comments and formatting):

- a blocking call in a coroutine -> ``await asyncio.to_thread(fn, *args, **kwargs)``;
- a CPU-heavy call (WFA109) -> ``await asyncio.get_running_loop().run_in_executor(CPU_POOL, fn, ...)``
  on a small module-level pool, added when the module has none;
- a call with a drop-in async twin -> ``await asyncio.sleep(x)`` for ``time.sleep(x)``, and
  ``await obj.acomplete(...)`` for ``obj.complete(...)`` (WFA110);
- a call evaluated before it is offloaded (WFA301) -> ``to_thread(f, x)``;
- an async step that never awaits (WFA401) -> a plain ``def`` (the runtime runs it in a thread).

``import asyncio`` is added when the module has none. Left alone, with the finding reported
and the reason: a call used as a context manager or as an iterator, a call inside a lambda or
a comprehension, a call returning a file object or a method on a file object opened in the
coroutine (wrapping one call would leave the other reads and writes blocking), a call returning
a lazy iterator or feeding another blocking call (the rest would still block), sqlite3 objects
(bound to the thread that made them), and rules with no mechanical rewrite.

A rewritten file must parse and compile, must not gain findings, and must be a fixed point
(fixing it again changes nothing); otherwise it is left untouched and the reason reported.
Files are written atomically, keeping encoding, BOM, newlines and permissions.
"""

from .files import (
           FileFix,
           FixReport,
           atomic_write,
           fix_file,
           fix_files,
           remove_stale_temps,
)
from .plan import fixable_in
from .rewrite import Applied, FixError, fix_module

__all__ = ["Applied", "FileFix", "FixError", "FixReport", "atomic_write", "fix_file", "fix_files", "fix_module",
           "fixable_in", "remove_stale_temps"]
