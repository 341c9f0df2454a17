"""A method called on an instance that another module of the project builds at its top level
(``settings = Settings()``): the class's method, its guards on what the constructor set seen
with every parameter at its default. Checked both ways, through the full and the lazy index."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixture_tools import by_line, expected, write_package

from flake8_wfasync.analysis import analyze_source
from flake8_wfasync.analysis.project_index import build_project_index, lazy_index_for
from flake8_wfasync.analysis.summaries import module_instances
from flake8_wfasync.config import Config
from flake8_wfasync.source import ast_parse

PACKAGE = {
    "pkg/log.py": """
        class Logger:
            def __init__(self, log_file=None):
                self.log_file = log_file

            def info(self, message):
                if self.log_file:
                    with open(self.log_file, "a") as fh:
                        fh.write(message)


        class Settings:
            def load(self):
                with open("settings.toml") as fh:
                    return fh.read()

            def name(self):
                return "settings"


        logger = Logger()
        settings = Settings()
        file_logger = Logger("app.log")
        later = Settings()
        later = None
    """,
    "pkg/app.py": """
        from pkg import log
        from pkg.log import file_logger, later, logger, settings


        async def reads_settings():
            text = settings.load()  # expect: WFA201
            again = log.settings.load()  # expect: WFA201
            return text + again + settings.name()


        async def logs(message):
            # Built without a file: its guard keeps the write away.
            logger.info(message)
            log.logger.info(message)


        async def not_known(message):
            # Built with arguments read in their own module, or bound twice: not followed.
            file_logger.info(message)
            return later.load()
    """,
}


@pytest.mark.parametrize("lazy", [False, True], ids=["index", "lazy-index"])
def test_methods_of_module_level_instances_of_another_module(tmp_path: Path, lazy: bool) -> None:
    files = write_package(tmp_path, PACKAGE)
    app = tmp_path / "pkg" / "app.py"
    index = lazy_index_for(str(app), Config()) if lazy else build_project_index(files, Config())
    assert index is not None
    source = app.read_text(encoding="utf-8")
    assert by_line(analyze_source(source, str(app), Config(), index=index)) == expected(source)


def test_module_instances_are_single_bindings_without_arguments() -> None:
    tree = ast_parse(
        "class A:\n    pass\n\n"
        "a = A()\nb = A(1)\nc = A()\nc = A()\nd = A()\n"
        "def reset():\n    global d\n    d = None\n"
        "def local():\n    a = 2\n    return a\n",
        "m.py",
    )
    assert module_instances(tree, "pkg.m") == {"a": "pkg.m.A()"}
