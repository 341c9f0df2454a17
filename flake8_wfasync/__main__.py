"""``python -m flake8_wfasync``: the ``wfasync`` command."""

from .app.cli import run

run()
