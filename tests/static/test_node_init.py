"""The lighter node ``__init__`` used while parsing builds exactly the tree libcst builds, and
is gone once the parse is over."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from flake8_wfasync.node_init import parsing_inits

ROOT = Path(__file__).resolve().parent.parent.parent
# Every kind of statement and expression the project's own code and fixtures hold, and a few more.
SOURCES = sorted([*(ROOT / "flake8_wfasync").rglob("*.py"), *(ROOT / "runtime").rglob("*.py"),
                  *(ROOT / "fixtures").rglob("*.py")])
EXTRA = '''\
# -*- coding: utf-8 -*-
from __future__ import annotations
import a.b as c, d
@dec(1)
class K(Base, metaclass=M):
    x: int = 1; y = z = (yield_ := 2)
    async def f(self, a, /, b=1, *args, c, d=2, **kw) -> None:
        async with a as (b, c), d:
            async for i in aiter(b):
                print(f"{i!r:>{w}} {{}}", *args, sep="", **kw)
        match a:
            case [1, *rest] | {"k": v, **more} if v: pass
            case Point(x=0) as p: del p
            case _: raise ValueError from None
        try: pass
        except* (E, F) as e: pass
        else: pass
        finally: return [x async for x in y if x] or {k: v for k, v in z} or {*s} or (g for g in h)
lambda x=1, *y, **z: x[1:2, ::3] @ -y ** ~z if not x else None
global q; data = b"\\x00" rb"raw"; text = "implicit" 'concat' """long"""
'''


def _parse_plain(text: str) -> cst.Module:
    return cst.parse_module(text)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_tree_is_the_one_libcst_builds(path: Path):
    text = path.read_text(encoding="utf-8")
    plain = _parse_plain(text)
    with parsing_inits():
        light = cst.parse_module(text)
    assert light.deep_equals(plain)
    assert light.code == plain.code == text


def test_every_kind_of_node_and_default():
    plain = _parse_plain(EXTRA)
    with parsing_inits():
        light = cst.parse_module(EXTRA)
        # Built by hand meanwhile: the defaults and default factories are filled in as libcst does.
        made = cst.FunctionDef(name=cst.Name("f"), params=cst.Parameters(), body=cst.IndentedBlock([]))
    assert light.deep_equals(plain) and light.code == EXTRA
    assert made.deep_equals(cst.FunctionDef(name=cst.Name("f"), params=cst.Parameters(),
                                            body=cst.IndentedBlock([])))


def test_libcst_checks_nodes_again_afterwards():
    original = cst.Name.__init__
    with parsing_inits():
        assert cst.Name.__init__ is not original
    assert cst.Name.__init__ is original
    with pytest.raises(cst.CSTValidationError):
        cst.Name("not a name")
    with pytest.raises(cst.CSTValidationError):  # an exception inside leaves them restored too
        with parsing_inits():
            raise cst.CSTValidationError("stop")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("1x")
