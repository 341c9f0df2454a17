"""The blocking detector: a watchdog that notices a blocked event loop and says which step,
which line and which rule, with the static checker's codes and advice.

Its public names are re-exported from :mod:`runtime`. The static side is reached only through
:mod:`runtime.detect.static_side`.
"""
