"""wfasync runtime: a workflow engine for asyncio and a detector for blocked event loops."""
