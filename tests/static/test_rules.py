"""Every rule carries examples that are real: bad finds the rule, good finds nothing."""

from __future__ import annotations

import importlib.util

import pytest

from flake8_wfasync.analyzer import analyze_source
from flake8_wfasync.config import Config
from flake8_wfasync.rules import RULES, Rule, get_rule

DESIGN_CODES = {
    "WFA101", "WFA102", "WFA103", "WFA104", "WFA105", "WFA106", "WFA107", "WFA108", "WFA109",
    "WFA110", "WFA199", "WFA201", "WFA301", "WFA302", "WFA303", "WFA304", "WFA401",
}
# The WFA199 examples name a call the project configured as blocking.
EXAMPLE_CONFIG = {"WFA199": Config(extra_blocking={"mylib.fetch": "use await mylib.afetch()"})}
PENDING = {}
if importlib.util.find_spec("flake8_wfasync.callgraph") is None:
    PENDING["WFA201"] = "WFA201 detection lives in flake8_wfasync.callgraph"


def test_every_code_has_a_rule():
    assert set(RULES) == DESIGN_CODES
    for code, rule in RULES.items():
        assert isinstance(rule, Rule) and rule.code == code
        assert rule.title and rule.why and rule.fix and rule.message


@pytest.mark.parametrize("code", sorted(RULES))
def test_bad_example_is_flagged(code):
    if code in PENDING:
        pytest.xfail(PENDING[code])
    findings = analyze_source(RULES[code].bad, config=EXAMPLE_CONFIG.get(code, Config()))
    assert code in {f.code for f in findings}


@pytest.mark.parametrize("code", sorted(RULES))
def test_good_example_is_clean(code):
    findings = analyze_source(RULES[code].good, config=EXAMPLE_CONFIG.get(code, Config()))
    assert findings == []


def test_get_rule():
    assert get_rule("WFA103").code == "WFA103"
    assert get_rule(" wfa103 ").code == "WFA103"
    with pytest.raises(KeyError, match="unknown rule code 'WFA999'; known codes: WFA101"):
        get_rule("WFA999")
