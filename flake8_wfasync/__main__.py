"""``python -m flake8_wfasync``: the ``wfasync`` command."""

import sys

from .app.cli import main

sys.exit(main())
