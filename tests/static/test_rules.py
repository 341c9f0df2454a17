"""Every rule carries examples that are real: bad finds the rule, good finds nothing. And a
rule is made in one place: its record, its catalog entries, nothing else."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import flake8_wfasync
from flake8_wfasync.analysis import analyze_source, might_block_tree
from flake8_wfasync.config import Config
from flake8_wfasync.knowledge import catalog
from flake8_wfasync.knowledge.rules import (
    BLOCKING_CODES,
    CATALOG_CODES,
    KINDS,
    OPT_IN_CODES,
    RULES,
    SITE_CODES,
    Rule,
    get_rule,
)
from flake8_wfasync.source import ast_parse

DESIGN_CODES = {
    "WFA101", "WFA102", "WFA103", "WFA104", "WFA105", "WFA106", "WFA107", "WFA108", "WFA109",
    "WFA110", "WFA199", "WFA201", "WFA301", "WFA302", "WFA303", "WFA304", "WFA401",
}
# The WFA199 examples name a call the project configured as blocking.
EXAMPLE_CONFIG = {"WFA199": Config(extra_blocking={"mylib.fetch": "use await mylib.afetch()"})}
# Opt-in rules are reported when selected by their full code.
EXAMPLE_CONFIG |= {code: Config(select=frozenset({"WFA", code})) for code in OPT_IN_CODES}


def test_every_code_has_a_rule():
    assert set(RULES) == DESIGN_CODES
    for code, rule in RULES.items():
        assert isinstance(rule, Rule) and rule.code == code
        assert rule.title and rule.why and rule.fix and rule.message


@pytest.mark.parametrize("code", sorted(RULES))
def test_bad_example_is_flagged(code):
    findings = analyze_source(RULES[code].bad, config=EXAMPLE_CONFIG.get(code, Config()))
    assert code in {f.code for f in findings}


@pytest.mark.parametrize("code", sorted(RULES))
def test_good_example_is_clean(code):
    findings = analyze_source(RULES[code].good, config=EXAMPLE_CONFIG.get(code, Config()))
    assert findings == []


def test_opt_in_rules_are_off_unless_named_in_full():
    assert OPT_IN_CODES == {"WFA304"}
    bad = RULES["WFA304"].bad
    assert analyze_source(bad) == []
    assert analyze_source(bad, config=Config(select=frozenset({"WFA"}))) == []
    assert analyze_source(bad, config=Config(select=frozenset({"WFA3"}))) == []
    assert {f.code for f in analyze_source(bad, config=Config(select=frozenset({"WFA304"})))} == {"WFA304"}
    assert Config(every_code=True).code_enabled("WFA304")


def test_get_rule():
    assert get_rule("WFA103").code == "WFA103"
    assert get_rule(" wfa103 ").code == "WFA103"
    with pytest.raises(KeyError, match="unknown rule code 'WFA999'; known codes: WFA101"):
        get_rule("WFA999")


def test_every_catalog_code_has_a_rule_told_by_the_catalog():
    entry_codes = {e.code for e in catalog.ENTRIES}
    assert entry_codes == set(CATALOG_CODES)  # each "call" rule has entries, and each entry a rule
    assert all(RULES[code].kind == "call" for code in entry_codes)
    assert {r.kind for r in RULES.values()} <= set(KINDS)


@pytest.mark.parametrize("code", sorted(RULES))
def test_every_rule_has_a_precheck_trigger(code):
    """The cheap pre-check lets the bad example through: a rule it did not know would be a
    file skipped in silence."""
    text = RULES[code].bad
    assert might_block_tree(ast_parse(text, "bad.py"), text, EXAMPLE_CONFIG.get(code, Config()))


def test_the_code_sets_follow_the_kinds():
    calls = {c for c, r in RULES.items() if r.kind in ("call", "configured")}
    assert calls <= BLOCKING_CODES and calls <= SITE_CODES
    assert "WFA201" in BLOCKING_CODES and "WFA201" not in SITE_CODES  # a chain is no call site
    assert "WFA301" in SITE_CODES and "WFA301" not in BLOCKING_CODES  # f(x) runs before the offload
    assert not {"WFA302", "WFA303", "WFA304", "WFA401"} & (BLOCKING_CODES | SITE_CODES)


def test_a_rule_told_by_the_catalog_is_named_nowhere_else():
    """Adding such a rule is a rules.py record and catalog entries: no other module of the
    static side holds one of those codes as a value (a code set, or a branch on the code,
    written elsewhere would need editing for each new rule). Prose that cites a code is fine."""
    package = Path(flake8_wfasync.__file__).parent
    named: list[str] = []
    for path in sorted(package.rglob("*.py")):
        if path.parent.name == "knowledge":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in CATALOG_CODES:
                named.append(f"{path.relative_to(package)}:{node.lineno}: {node.value}")
    assert named == []
