"""Rule reference text: ``wfasync explain``, ``wfasync rules`` and docs/rules.md, from rules.py.

Regenerate the docs with ``python -m flake8_wfasync.app.docs_gen > docs/rules.md``
(same text as ``wfasync rules --markdown``); a test fails when the file is stale.
"""

from __future__ import annotations

import re
import sys
import textwrap
from typing import Any

from ..knowledge.rules import RULES, Rule


def _rules() -> list[Rule]:
    return [RULES[code] for code in sorted(RULES)]


def _para(text: str) -> str:
    return " ".join(text.split())


def _code_block(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def explain_text(rule: Rule) -> str:
    """The terminal form: what it finds, why it matters, bad and good examples, the fix."""
    width = 88
    lines = [f"{rule.code}: {_para(rule.title)}", ""]

    def section(title: str, body: str) -> None:
        lines.append(title)
        lines.extend(textwrap.fill(_para(body), width, initial_indent="  ", subsequent_indent="  ").splitlines())
        lines.append("")

    section("What it finds", _finds(rule))
    if getattr(rule, "opt_in", False):
        section("Off by default", _opt_in(rule))
    section("Why it matters", rule.why)
    if rule.fix:
        section("How to fix it", rule.fix)
    lines.append("Bad")
    lines.extend(("    " + line).rstrip() for line in _code_block(rule.bad).splitlines())
    lines.append("")
    lines.append("Good")
    lines.extend(("    " + line).rstrip() for line in _code_block(rule.good).splitlines())
    lines.append("")
    return "\n".join(lines)


def _finds(rule: Rule, markdown: bool = False) -> str:
    # The title says what is found; the message template shows how a finding reads, with its
    # placeholders shown as <call>, <where>, <fix>.
    example = re.sub(r"\{(\w+)\}", r"<\1>", _para(rule.message))
    reads = f"`{rule.code} {example}`" if markdown else f"{rule.code} {example}"
    return f"{_para(rule.title)}. A finding reads: {reads}"


def _opt_in(rule: Any, markdown: bool = False) -> str:
    q = "`" if markdown else ""
    return (f"An opt-in rule: reported only when selected by its full code, as in "
            f"{q}select = [\"WFA\", \"{rule.code}\"]{q} in [tool.wfasync] of pyproject.toml, "
            f"{q}wfasync check --select WFA,{rule.code}{q}, or {q}flake8 --extend-select {rule.code}{q}. "
            f"A prefix ({q}WFA{q}, {q}WFA3{q}) does not turn it on.")


def rules_table() -> str:
    rules = _rules()
    width = max((len(r.code) for r in rules), default=6)
    out = [f"{r.code:<{width}}  {_para(r.title)}" for r in rules]
    out.append("")
    out.append("`wfasync explain CODE` shows what a rule finds, why it matters, and how to fix it.")
    return "\n".join(out) + "\n"


def rules_markdown() -> str:
    rules = _rules()
    out = [
        "# wfasync rules",
        "",
        "<!-- Generated from flake8_wfasync/knowledge/rules.py by `wfasync rules --markdown`; do not edit. -->",
        "",
        "Every rule flags something that blocks the asyncio event loop inside a coroutine or a",
        "workflow step, and says how to fix it. The same codes are used by the flake8 plugin, the",
        "`wfasync` command and the runtime blocking detector.",
        "",
        "| code | rule |",
        "|---|---|",
    ]
    for r in rules:
        out.append(f"| [{r.code}](#{r.code.lower()}) | {_para(r.title)} |")
    out.append("")
    for r in rules:
        out += [f"## {r.code}", "", f"**{_para(r.title)}**", ""]
        out += ["### What it finds", "", _finds(r, markdown=True), ""]
        if getattr(r, "opt_in", False):
            out += ["### Off by default", "", _opt_in(r, markdown=True), ""]
        out += ["### Why it matters", "", _para(r.why), ""]
        if r.fix:
            out += ["### How to fix it", "", _para(r.fix), ""]
        out += ["### Bad", "", "```python", _code_block(r.bad), "```", ""]
        out += ["### Good", "", "```python", _code_block(r.good), "```", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def main() -> int:
    sys.stdout.write(rules_markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
