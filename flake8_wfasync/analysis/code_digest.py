"""A digest of the static side's own source: cached results and summaries made by other code
are never served."""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["analysis_digest"]

_digest: str | None = None


def analysis_digest() -> str:
    """Digest of every module of the package: a change in any of them invalidates every cached
    result and summary."""
    global _digest
    if _digest is None:
        package = Path(__file__).resolve().parent.parent
        h = hashlib.blake2b(digest_size=16)
        for path in sorted(package.rglob("*.py")):
            h.update(path.relative_to(package).as_posix().encode())
            try:
                h.update(path.read_bytes())
            except OSError:
                pass
        _digest = h.hexdigest()
    return _digest
