"""SARIF 2.1.0 output validates against the official schema and carries what code scanning needs."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from flake8_wfasync.app.runner import CheckResult, FileError
from flake8_wfasync.app.sarif import build_sarif
from flake8_wfasync.knowledge.findings import Finding
from flake8_wfasync.knowledge.rules import RULES

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))


def validate(doc: dict) -> None:
    jsonschema.Draft4Validator.check_schema(SCHEMA)
    validator = jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


@pytest.fixture
def result(tmp_path: Path) -> CheckResult:
    path = str(tmp_path / "pkg" / "flow with space.py")
    res = CheckResult(files_checked=3)
    res.findings = [
        Finding("WFA103", 4, 8, "time.sleep(1) blocks the event loop in 'poll': use await asyncio.sleep(1)",
                path=path, qualname="time.sleep", function="poll", twin="asyncio.sleep", end_line=4, end_col=21),
        Finding("WFA101", 9, 15, "requests.get(url) blocks", path=path, qualname="requests.get",
                step="fetch", workflow="Flow", end_line=10, end_col=3),
    ]
    res.lines = {path: {4: "        time.sleep(1)", 9: "        data = requests.get("}}
    res.errors = [FileError(str(tmp_path / "broken.py"), 3, 4, "cannot parse: invalid syntax")]
    return res


def test_schema_is_the_official_one() -> None:
    assert SCHEMA["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0")
    assert SCHEMA["id"].endswith("sarif-schema-2.1.0.json")


def test_document_validates(result: CheckResult, tmp_path: Path) -> None:
    doc = build_sarif(result, tmp_path)
    validate(json.loads(json.dumps(doc)))


def test_what_code_scanning_needs(result: CheckResult, tmp_path: Path) -> None:
    doc = build_sarif(result, tmp_path)
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(RULES)
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"] and rule["help"]["text"]
    first, second = run["results"]
    assert rules[first["ruleIndex"]]["id"] == first["ruleId"] == "WFA103"
    loc = first["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "pkg/flow%20with%20space.py", "uriBaseId": "%SRCROOT%"}
    assert loc["region"] == {"startLine": 4, "startColumn": 9, "endLine": 4, "endColumn": 22,
                             "snippet": {"text": "        time.sleep(1)"}}
    assert first["level"] == "error"
    assert first["message"]["text"].startswith("WFA103 time.sleep(1)")
    assert second["locations"][0]["physicalLocation"]["region"]["endLine"] == 10
    assert first["partialFingerprints"]["wfasync/v1"] != second["partialFingerprints"]["wfasync/v1"]
    assert run["columnKind"] == "unicodeCodePoints"
    note = run["invocations"][0]["toolExecutionNotifications"][0]
    assert note["message"]["text"] == "cannot parse: invalid syntax"
    assert run["invocations"][0]["executionSuccessful"] is True


def test_fingerprint_survives_lines_moving(result: CheckResult, tmp_path: Path) -> None:
    before = build_sarif(result, tmp_path)["runs"][0]["results"][0]["partialFingerprints"]
    moved = result.findings[0].__class__(**{**result.findings[0].__dict__, "line": 40})
    result.findings[0] = moved
    result.lines[moved.path][40] = result.lines[moved.path][4]
    after = build_sarif(result, tmp_path)["runs"][0]["results"][0]["partialFingerprints"]
    assert before == after


def test_empty_run_validates(tmp_path: Path) -> None:
    doc = build_sarif(CheckResult(), tmp_path)
    validate(doc)
    assert doc["runs"][0]["results"] == []


def test_validator_rejects_a_broken_document(result: CheckResult, tmp_path: Path) -> None:
    doc = build_sarif(result, tmp_path)
    doc["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(AssertionError):
        validate(doc)
    doc = build_sarif(result, tmp_path)
    del doc["runs"][0]["tool"]["driver"]["name"]
    with pytest.raises(AssertionError):
        validate(doc)
