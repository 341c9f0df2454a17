"""The workflow engine: events, steps, validation, and one run's workers, queues and context.

Its public names are re-exported from :mod:`runtime`. Of the detector it uses two things: the
registry where step functions are entered (so a report can name the step), and, imported only
when a run has ``detect_blocking`` on, the shared detector it attaches to its loop. The detector
imports nothing from here.
"""
