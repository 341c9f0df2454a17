"""Rule text from rules.py: explain, rules, and docs/rules.md kept current."""

from __future__ import annotations

import pytest
from cli_helpers import REPO, run_wfasync

from flake8_wfasync.app.cli import main
from flake8_wfasync.app.docs_gen import rules_markdown
from flake8_wfasync.knowledge.rules import RULES


def test_docs_rules_md_is_current() -> None:
    on_disk = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    assert on_disk == rules_markdown(), (
        "docs/rules.md is stale: regenerate it with `wfasync rules --markdown > docs/rules.md`"
    )


def test_markdown_has_every_rule_with_its_examples() -> None:
    text = rules_markdown()
    for code, rule in RULES.items():
        section = text.split(f"## {code}\n", 1)[1].split("\n## ", 1)[0]
        assert rule.title in section
        assert rule.bad.strip().splitlines()[-1].strip() in section
        assert rule.good.strip().splitlines()[-1].strip() in section


@pytest.mark.parametrize("code", sorted(RULES))
def test_explain_prints_what_why_bad_good(code: str, capsys: pytest.CaptureFixture[str]) -> None:
    rule = RULES[code]
    # In-process for each rule (the subprocess path is covered below): same main(), faster.
    assert main(["explain", code.lower()]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{code}: {rule.title}")
    for heading in ("What it finds", "Why it matters", "Bad", "Good"):
        assert f"\n{heading}\n" in out
    why_words = rule.why.split()[:6]
    assert " ".join(why_words) in " ".join(out.split())
    bad_part = out.split("\nBad\n", 1)[1].split("\nGood\n", 1)[0]
    good_part = out.split("\nGood\n", 1)[1]
    assert rule.bad.strip().splitlines()[-1].strip() in bad_part
    assert rule.good.strip().splitlines()[-1].strip() in good_part


def test_explain_through_the_command() -> None:
    result = run_wfasync("explain", "WFA103")
    assert result.returncode == 0
    assert result.stdout.startswith("WFA103: ")
    assert "await asyncio.sleep" in result.stdout


def test_explain_unknown_code_is_a_usage_error() -> None:
    result = run_wfasync("explain", "WFA999")
    assert result.returncode == 2
    assert "unknown rule code 'WFA999'" in result.stderr
    assert "WFA101" in result.stderr
    assert "Traceback" not in result.stderr


def test_rules_lists_every_code_once() -> None:
    result = run_wfasync("rules")
    assert result.returncode == 0
    codes = [line.split()[0] for line in result.stdout.splitlines() if line.startswith("WFA")]
    assert codes == sorted(RULES)
    markdown = run_wfasync("rules", "--markdown")
    assert markdown.stdout == rules_markdown()
