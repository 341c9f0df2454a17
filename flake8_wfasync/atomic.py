"""Replace a file in one step, so a reader or a killed process never sees half of it."""

from __future__ import annotations

import os
from pathlib import Path


def replace_file(
    path: Path, data: bytes, *, suffix: str = ".tmp", mode: int | None = None, durable: bool = False
) -> None:
    """Write ``data`` to a temp file beside ``path``, then ``os.replace`` it over ``path``.

    The temp file lives in the same folder because a rename is atomic only within one file
    system. ``mode`` sets its permissions before the rename (mkstemp makes it 0600);
    ``durable`` fsyncs it first, for user files whose loss would cost work.
    """
    import tempfile  # (here: a run that writes nothing does not import it)

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
