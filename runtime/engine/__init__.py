"""The workflow engine: events, steps, validation, and one run's workers, queues and context.

Its public names are re-exported from :mod:`runtime`; the modules here import nothing from the
detector except, lazily, the detector a run with ``detect_blocking`` attaches to its loop.
"""
