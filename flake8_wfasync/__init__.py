"""flake8-wfasync: find blocking calls inside asyncio coroutines and workflow steps."""

__version__ = "0.1.0"
