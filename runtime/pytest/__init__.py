"""The pytest plugin (entry point ``runtime.pytest.plugin``): blocking calls in tests as
warnings or failures, with a summary and an optional JSON report.

Every module here imports the real ``pytest`` with an absolute import; this package's name
never shadows it.
"""
