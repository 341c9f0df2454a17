"""The applications over the analysis and the fixer: the ``wfasync`` command (:mod:`.cli`,
running many files through :mod:`.runner`), the flake8 plugin (:mod:`.flake8_plugin`), their
configuration, cache and output formats."""
