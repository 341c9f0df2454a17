"""SARIF 2.1.0 output, shaped for GitHub code scanning.

What code scanning relies on: every rule in ``tool.driver.rules`` with an ``id``, a short and
full description and help text; every result with ``ruleId``/``ruleIndex``, a ``level``, a
message and a physical location whose URI is relative to the repository root
(``uriBaseId: %SRCROOT%``); stable ``partialFingerprints`` so an alert survives unrelated
edits above it. Files that could not be checked become tool execution notifications.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import __version__
from ..knowledge.findings import Finding
from ..knowledge.rules import RULES, Rule
from .runner import CheckResult

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/flake8-wfasync/"


def _rules() -> list[Rule]:
    return [RULES[code] for code in sorted(RULES)]


def _text(value: str) -> str:
    return " ".join(value.split())


def rule_descriptor(rule: Rule) -> dict[str, Any]:
    why = _text(rule.why)
    fix = _text(rule.fix)
    bad = rule.bad.strip("\n")
    good = rule.good.strip("\n")
    help_text = f"{why}\n\nFix: {fix}" if fix else why
    markdown = f"{why}\n\n**Fix:** {fix}\n\nBad:\n\n```python\n{bad}\n```\n\nGood:\n\n```python\n{good}\n```\n"
    return {
        "id": rule.code,
        "name": "".join(w.capitalize() for w in _text(rule.title).replace("-", " ").split() if w.isalnum())
        or rule.code,
        "shortDescription": {"text": _text(rule.title)},
        "fullDescription": {"text": why or _text(rule.title)},
        "help": {"text": help_text or _text(rule.title), "markdown": markdown},
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["asyncio", "performance", "blocking"], "precision": "high"},
    }


def _uri(path: str, root: Path) -> tuple[str, bool]:
    """(uri, relative?) for a checked path: relative to ``root`` when under it."""
    absolute = Path(os.path.abspath(path))
    try:
        rel = absolute.relative_to(root.resolve())
        return quote(rel.as_posix()), True
    except ValueError:
        return absolute.as_uri(), False


def _fingerprint(f: Finding, line_text: str) -> str:
    # The rule, the file and the line's content (not its number): survives edits elsewhere.
    h = hashlib.sha256(f"{f.code}\0{f.path}\0{line_text.strip()}\0{f.qualname or ''}".encode())
    return h.hexdigest()[:32]


def build_sarif(result: CheckResult, root: Path) -> dict[str, Any]:
    rules = _rules()
    index = {rule.code: i for i, rule in enumerate(rules)}
    descriptors = [rule_descriptor(rule) for rule in rules]
    results = []
    for f in result.findings:
        if f.code not in index:  # a code without a rule record still gets reported
            index[f.code] = len(descriptors)
            descriptors.append({"id": f.code, "shortDescription": {"text": f.code}})
        uri, relative = _uri(f.path, root)
        region: dict[str, Any] = {"startLine": f.line, "startColumn": f.col + 1}
        if f.end_line is not None and f.end_line >= f.line:
            region["endLine"] = f.end_line
            if f.end_col is not None and (f.end_line > f.line or f.end_col > f.col):
                region["endColumn"] = f.end_col + 1
        line_text = result.lines.get(f.path, {}).get(f.line, "")
        if line_text:
            region["snippet"] = {"text": line_text}
        location: dict[str, Any] = {"uri": uri}
        if relative:
            location["uriBaseId"] = "%SRCROOT%"
        entry: dict[str, Any] = {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": "error",
            "message": {"text": f"{f.code} {f.message}"},
            "locations": [{"physicalLocation": {"artifactLocation": location, "region": region}}],
            "partialFingerprints": {"wfasync/v1": _fingerprint(f, line_text)},
        }
        props: dict[str, Any] = {k: v for k, v in (("qualname", f.qualname), ("function", f.function),
                                                   ("step", f.step), ("workflow", f.workflow), ("twin", f.twin)) if v}
        if (f.path, f.line, f.col, f.code) in result.fixable:
            props["fixable"] = True
        if props:
            entry["properties"] = props
        results.append(entry)

    notifications = []
    for e in result.errors:
        uri, relative = _uri(e.path, root)
        location = {"uri": uri, **({"uriBaseId": "%SRCROOT%"} if relative else {})}
        notifications.append(
            {
                "level": "error",
                "message": {"text": e.message},
                "locations": [{"physicalLocation": {
                    "artifactLocation": location,
                    "region": {"startLine": max(1, e.line), "startColumn": e.col + 1},
                }}],
            }
        )
    invocation: dict[str, Any] = {"executionSuccessful": not any(e.internal for e in result.errors)}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "wfasync",
                        "semanticVersion": __version__,
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": descriptors,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": root.resolve().as_uri() + "/"}},
                "columnKind": "unicodeCodePoints",
                "invocations": [invocation],
                "results": results,
            }
        ],
    }
