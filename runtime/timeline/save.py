"""Writing a timeline to a file: the page or the data, chosen by the file's suffix."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .model import Timeline, TimelineError, write_atomically
from .page import render

SUFFIXES = (".html", ".htm", ".json")


def save_timeline(timeline: Timeline, path: str | os.PathLike[str]) -> Path:
    """Write ``timeline`` to ``path`` as an HTML page or as JSON; the file appears whole or
    not at all. Raises TimelineError (a ValueError) for another suffix or a failed write."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".json":
        text = json.dumps(timeline.to_dict(), indent=1) + "\n"
    elif suffix in (".html", ".htm"):
        text = render(timeline)
    else:
        raise TimelineError(
            f"{path}: a timeline is saved as .html (the page) or .json (the data), not {suffix or 'a file without suffix'!r}"
        )
    write_atomically(target, text)
    return target
