"""``# noqa`` reads codes the way flake8 does: another tool's codes silence only themselves."""

from __future__ import annotations

import pytest

from flake8_wfasync.source import noqa_codes, suppressed


@pytest.mark.parametrize(("comment", "codes"), [
    ("x = 1  # noqa", frozenset()),
    ("x = 1  # noqa: WFA101", frozenset({"WFA101"})),
    ("x = 1  # noqa: ASYNC210, S310", frozenset({"ASYNC210", "S310"})),
    ("x = 1  # NOQA:BLE001 WFA102", frozenset({"BLE001", "WFA102"})),
    ("x = 1", None),
])
def test_codes_of_a_noqa_comment(comment: str, codes: frozenset[str] | None) -> None:
    assert noqa_codes(comment) == codes


def test_other_tools_codes_leave_our_findings() -> None:
    assert not suppressed("WFA101", "urlopen(url)  # noqa: ASYNC210, S310")
    assert suppressed("WFA101", "urlopen(url)  # noqa: ASYNC210, WFA101")
    assert suppressed("WFA101", "urlopen(url)  # noqa: WFA1")
