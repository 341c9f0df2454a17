"""Guards composed along helper chains: contradictions that close a way to block, and the
arguments a summary records for a call to another module's function."""

from __future__ import annotations

from pathlib import Path

from fixture_tools import write_package

from flake8_wfasync.analysis import analyze_source
from flake8_wfasync.analysis.guard_logic import contradicts, translate_described
from flake8_wfasync.analysis.project_index import build_project_index
from flake8_wfasync.config import Config


def _ancestors(table):
    return lambda name: table.get(name)


def test_built_in_types_that_share_no_instance_contradict():
    assert contradicts([["x", "isinstance", ["str"]], ["x", "isinstance", ["bytes"]]])
    assert contradicts([["x", "isinstance", ["int"]], ["x", "isinstance", ["list", "dict"]]])
    assert not contradicts([["x", "isinstance", ["bool"]], ["x", "isinstance", ["int"]]])
    assert not contradicts([["x", "isinstance", ["str"]], ["x", "isinstance", ["str", "bytes"]]])
    assert not contradicts([["x", "isinstance", ["str"]], ["y", "isinstance", ["bytes"]]])


def test_a_project_class_is_no_str_only_when_all_its_ancestors_are_known():
    known = _ancestors({"pkg.Upload": frozenset({"pkg.Upload", "pkg.Base", "object"}),
                        "pkg.Name": frozenset({"pkg.Name", "str", "object"})})
    upload, text = ["m", "isinstance", ["pkg.Upload"]], ["m", "isinstance", ["str"]]
    assert contradicts([upload, text], known)
    assert contradicts([upload, ["m", "isinstance", ["pathlib.Path", "bytes"]]], known)
    assert not contradicts([upload, text])  # nothing known of its ancestors
    assert not contradicts([["m", "isinstance", ["pkg.Name"]], text], known)  # a str subclass
    assert not contradicts([["m", "isinstance", ["pkg.Other"]], text], known)  # not known
    # An ABC that looks at the methods a class has, and another project class, stay open.
    assert not contradicts([upload, ["m", "isinstance", ["os.PathLike"]]], known)
    assert not contradicts([upload, ["m", "isinstance", ["pkg.Mixin"]]], known)


def test_other_atoms_that_cannot_both_hold():
    assert contradicts([["x", "none", None], ["x", "notnone", None]])
    assert contradicts([["x", "truthy", None], ["x", "falsy", None]])
    assert contradicts([["x", "eq", "'a'"], ["x", "eq", "'b'"]])
    assert contradicts([["x", "eq", "'a'"], ["x", "none", None]])
    assert contradicts([["x", "isinstance", ["str"]], ["x", "notisinstance", ["str", "bytes"]]])
    assert not contradicts([["x", "isinstance", ["str", "int"]], ["x", "notisinstance", ["str"]]])
    assert not contradicts([["x", "eq", "'a'"], ["x", "truthy", None]])
    assert not contradicts([["", "memo", None], ["", "memo", None]])


def test_arguments_recorded_in_a_summary_decide_the_callee_guard():
    sig = {"kind": "function", "pos": ["root", "rel"], "kw": ["follow"],
           "defaults": {"follow": {"t": "bool", "v": "False"}}, "star": False}
    guard = [["follow", "truthy", None]]
    passed = {"pos": [{}, {}], "kw": {"follow": {"p": "deep"}}, "bound": False}
    assert translate_described(guard, passed, sig, False) == [["deep", "truthy", None]]
    omitted = {"pos": [{}, {}], "kw": {}, "bound": False}
    assert translate_described(guard, omitted, sig, False) is None  # the default fails it
    literal = {"pos": [{}, {}, {"t": "bool", "v": "True"}], "kw": {}, "bound": False}
    assert translate_described(guard, literal, sig, False) == []  # it holds: blocks
    assert translate_described(guard, None, sig, False) == []  # not described: may hold
    method = dict(sig, kind="method")
    assert translate_described(guard, omitted, method, False) == []  # Class.method(obj, ...)?


PACKAGE = {
    "pkg/kinds.py": """\
        class Upload:
            pass
        """,
    "pkg/media.py": """\
        from .kinds import Upload


        def _read(f):
            if isinstance(f, str):
                with open(f) as fh:
                    return fh.read()
            return f


        def media(m):
            if isinstance(m, Upload):
                return _read(m)
            return None
        """,
    "pkg/app.py": """\
        from . import media


        async def send(upload):
            return media.media(upload)
        """,
}


def test_a_cached_summary_follows_a_change_in_the_classes_it_rests_on(tmp_path: Path):
    files = write_package(tmp_path / "src", PACKAGE)
    app = tmp_path / "src" / "pkg" / "app.py"
    cache = tmp_path / "cache"

    def findings():
        index = build_project_index(files, Config(), cache_dir=cache)
        return [f.code for f in analyze_source(app.read_text(), str(app), Config(), index=index)]

    assert findings() == []
    assert findings() == []  # from the cache
    kinds = tmp_path / "src" / "pkg" / "kinds.py"
    kinds.write_text("class Upload(str):\n    pass\n")  # now an Upload is a str: it is opened
    assert findings() == ["WFA201"]
