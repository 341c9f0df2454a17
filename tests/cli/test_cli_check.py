"""`wfasync check` through the real command: exit codes, formats, errors, cache, both cores."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import jsonschema
from cli_helpers import REPO, run_wfasync, write

BAD = """\
import time

import requests


async def poll(url):
    time.sleep(1)
    return requests.get(url, timeout=5)
"""
CLEAN = """\
import asyncio


async def poll():
    await asyncio.sleep(1)
"""
# `wfasync check` analyses the whole project: per-file and whole-project expectations both hold.
_EXPECT = re.compile(r"# expect(?:-project)?: *(WFA\d+(?:\s*,\s*WFA\d+)*)")
_CONFIG = re.compile(r"^#\s*fixture-config:\s*(\{.*\})\s*$", re.M)


def test_clean_tree_exits_0(tmp_path: Path) -> None:
    write(tmp_path, "ok.py", CLEAN)
    write(tmp_path, "plain.py", "def f():\n    return open('x').read()\n")
    result = run_wfasync("check", "--isolated", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No blocking calls found; 2 files checked." in result.stdout


def test_findings_exit_1_grouped_with_source_and_fix(tmp_path: Path) -> None:
    write(tmp_path, "app/bad.py", BAD)
    write(tmp_path, "app/ok.py", CLEAN)
    result = run_wfasync("check", "--isolated", "app", cwd=tmp_path)
    assert result.returncode == 1
    out = result.stdout
    lines = out.splitlines()
    assert lines[0] == os.path.join("app", "bad.py")
    assert lines[1].startswith("  7:5  WFA103  [*] time.sleep(1) blocks the event loop in coroutine 'poll'")
    assert "await asyncio.sleep(1)" in lines[1]  # the fix
    assert lines[2].endswith("|     time.sleep(1)")
    assert lines[3].endswith("|     ^^^^^^^^^^^^^")
    assert "8:12  WFA101  [*] requests.get(url, timeout=5)" in out
    assert "ok.py" not in out
    assert "Found 2 blocking problems in 1 file; 2 files checked. 2 marked [*] can be rewritten" in out


def test_every_line_reaches_a_pipe_before_the_process_leaves(tmp_path: Path) -> None:
    # The command leaves without tearing its heap down: whatever it printed is flushed first,
    # in every format, and the exit code is the one the run decided.
    for i in range(300):
        write(tmp_path, f"pkg/m{i:03}.py", BAD)
    result = run_wfasync("check", "--isolated", "--no-cache", "--format", "json", ".", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert len(json.loads(result.stdout)["findings"]) == 600
    text = run_wfasync("check", "--isolated", "--no-cache", "--exit-zero", ".", cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert text.stdout.count("WFA103") == 300 and "600 blocking problems in 300 files; 300 files checked." in text.stdout


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    for args in (["check", "missing.py"], ["check", "--select", "E501", "."], ["check", "--format", "xml", "."],
                 ["frobnicate"], [], ["check", "--config", "nope.toml", "."]):
        result = run_wfasync(*args, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
    assert "missing.py: no such file or directory" in run_wfasync("check", "missing.py", cwd=tmp_path).stderr


def test_exit_zero_reports_findings_and_exits_0_but_usage_errors_still_exit_2(tmp_path: Path) -> None:
    write(tmp_path, "bad.py", BAD)
    write(tmp_path, "broken.py", "async def f(:\n    pass\n")
    plain = run_wfasync("check", "--isolated", "--no-cache", "--no-source", ".", cwd=tmp_path)
    assert plain.returncode == 1
    result = run_wfasync("check", "--isolated", "--no-cache", "--no-source", "--exit-zero", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == plain.stdout  # the same report, only the status differs
    assert "WFA103" in result.stdout and "broken.py:1:" in result.stdout
    as_json = run_wfasync("check", "--isolated", "--no-cache", "--exit-zero", "--format", "json", ".", cwd=tmp_path)
    assert as_json.returncode == 0 and len(json.loads(as_json.stdout)["findings"]) == 2
    for args in (["missing.py"], ["--select", "E501", "."], ["--config", "nope.toml", "."]):
        assert run_wfasync("check", "--exit-zero", *args, cwd=tmp_path).returncode == 2, args
    write(tmp_path, "pyproject.toml", '[tool.wfasync]\nscope = "sometimes"\n')
    broken_config = run_wfasync("check", "--exit-zero", ".", cwd=tmp_path)
    assert broken_config.returncode == 2 and "key 'scope'" in broken_config.stderr


def test_unparsable_file_is_one_line_and_the_rest_is_checked(tmp_path: Path) -> None:
    write(tmp_path, "a_broken.py", "async def f(:\n    pass\n")
    write(tmp_path, "b_bad.py", BAD)
    write(tmp_path, "c_latin.py", b"# no coding cookie\nx = '\xe9'\n".decode("latin-1"))
    (tmp_path / "c_latin.py").write_bytes(b"async def f():\n    x = '\xff\xfe'\n")
    result = run_wfasync("check", "--isolated", "--no-source", ".", cwd=tmp_path)
    assert result.returncode == 1
    errors = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert len(errors) == 2, result.stdout
    assert re.match(r"^a_broken\.py:1:\d+: error: cannot parse: \S", errors[0])
    assert errors[1].startswith("c_latin.py:")
    assert "WFA103" in result.stdout and "WFA101" in result.stdout  # the good file is still checked
    assert "2 files could not be checked" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    # In machine formats the report stays parseable and errors go to stderr too.
    as_json = run_wfasync("check", "--isolated", "--format", "json", ".", cwd=tmp_path)
    report = json.loads(as_json.stdout)
    assert [e["path"] for e in report["errors"]] == ["a_broken.py", "c_latin.py"]
    assert "a_broken.py:1:" in as_json.stderr


def test_unparsable_file_without_coroutines_is_reported_too(tmp_path: Path) -> None:
    # Nothing in it to analyse, but a file asked for that does not parse is an error, never a
    # clean pass: with the project index and the cache, on one process, and named alone.
    write(tmp_path, "plain.py", "def f(:\n    return 1\n")
    write(tmp_path, "nulls.py", "x = 1\0\n")
    write(tmp_path, "fine.py", "def g():\n    return 2\n")
    for args in ([], ["--jobs", "1"], ["--no-cache"], []):  # the last run answers from the cache
        result = run_wfasync("check", "--isolated", "--no-source", *args, ".", cwd=tmp_path)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        errors = sorted(line for line in result.stdout.splitlines() if ": error: " in line)
        assert len(errors) == 2, (args, result.stdout)
        assert errors[0].startswith("nulls.py:1:") and "cannot parse" in errors[0]
        assert re.match(r"^plain\.py:1:\d+: error: cannot parse: invalid syntax", errors[1]), errors
        assert "2 files could not be checked" in result.stdout
        assert "Traceback" not in result.stdout + result.stderr
    alone = run_wfasync("check", "--isolated", "--format", "json", "plain.py", cwd=tmp_path)
    assert alone.returncode == 1
    assert [(e["path"], e["line"]) for e in json.loads(alone.stdout)["errors"]] == [("plain.py", 1)]
    assert run_wfasync("check", "--isolated", "--exit-zero", "plain.py", cwd=tmp_path).returncode == 0


def test_json_format(tmp_path: Path) -> None:
    write(tmp_path, "bad.py", BAD)
    result = run_wfasync("check", "--isolated", "--format", "json", ".", cwd=tmp_path)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["files_checked"] == 1
    codes = [(f["code"], f["line"], f["col"], f["qualname"]) for f in report["findings"]]
    assert codes == [("WFA103", 7, 5, "time.sleep"), ("WFA101", 8, 12, "requests.get")]
    # Columns are 1-based, as in the text report and SARIF: end_col is just past the call.
    assert (report["findings"][0]["end_line"], report["findings"][0]["end_col"]) == (7, 18)
    text = run_wfasync("check", "--isolated", "--no-source", ".", cwd=tmp_path)
    assert "  7:5  WFA103" in text.stdout and "  8:12  WFA101" in text.stdout
    sarif = json.loads(run_wfasync("check", "--isolated", "--format", "sarif", ".", cwd=tmp_path).stdout)
    regions = [r["locations"][0]["physicalLocation"]["region"] for r in sarif["runs"][0]["results"]]
    assert [(r["startLine"], r["startColumn"], r["endColumn"]) for r in regions][0] == (7, 5, 18)
    assert report["findings"][0]["twin"] == "asyncio.sleep"
    assert report["findings"][0]["source_line"] == "    time.sleep(1)"
    assert [f["fixable"] for f in report["findings"]] == [True, True]
    write(tmp_path, "refused.py", "async def f(p):\n    with open(p) as fh:\n        return fh.read()\n")
    result = run_wfasync("check", "--isolated", "--format", "json", "refused.py", cwd=tmp_path)
    assert [(f["code"], f["fixable"]) for f in json.loads(result.stdout)["findings"]] == [
        ("WFA102", False), ("WFA102", False)]


def test_github_format(tmp_path: Path) -> None:
    write(tmp_path, "pkg/bad.py", BAD)
    result = run_wfasync("check", "--isolated", "--format", "github", ".", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("::error file=pkg/bad.py,line=7,col=5,endLine=7,endColumn=18,"
                               "title=WFA103 time.sleep in a coroutine::WFA103 time.sleep(1) blocks")
    # Commas and colons in a property are escaped, so the annotation cannot be misread.
    assert "title=WFA101 Synchronous HTTP request in a coroutine::" in lines[1]


def test_sarif_from_the_command_validates(tmp_path: Path) -> None:
    schema = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
    out = tmp_path / "report.sarif"
    result = run_wfasync("check", "--isolated", "--format", "sarif", "-o", str(out), "fixtures", cwd=REPO)
    assert result.returncode == 1
    assert result.stdout == ""
    doc = json.loads(out.read_text())
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker()).validate(doc)
    results = doc["runs"][0]["results"]
    assert results and all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("fixtures/")
                           for r in results)


def _expectations(path: Path, rel: str) -> set[tuple[str, int, str]]:
    want = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = _EXPECT.search(line)
        if match:
            want |= {(rel, number, c.strip()) for c in match.group(1).split(",")}
    return want


def _toml(value: object) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value)


def test_check_fixtures_finds_what_they_expect(tmp_path: Path) -> None:
    """Every fixture, through the command; a ``# fixture-config:`` header becomes the
    [tool.wfasync] table of a pyproject.toml beside a copy of that fixture."""
    configured = {}
    for path in sorted((REPO / "fixtures").rglob("*.py")):
        match = _CONFIG.search(path.read_text(encoding="utf-8"))
        if match:
            configured[path] = json.loads(match.group(1))
    result = run_wfasync("check", "--isolated", "--no-cache", "--format", "json", "fixtures", cwd=REPO)
    report = json.loads(result.stdout)
    assert report["errors"] == []
    found = {(f["path"], f["line"], f["code"]) for f in report["findings"]}
    want = set()
    for path in sorted((REPO / "fixtures").rglob("*.py")):
        rel = str(path.relative_to(REPO))
        if path in configured:
            found = {item for item in found if item[0] != rel}
        else:
            want |= _expectations(path, rel)
    assert sorted(found - want) == [], "unexpected findings"
    assert sorted(want - found) == [], "expected findings not reported"

    for i, (path, raw) in enumerate(configured.items()):
        project = tmp_path / f"p{i}"
        project.mkdir()
        table = "\n".join(f"{key} = {_toml(value)}" for key, value in raw.items())
        (project / "pyproject.toml").write_text(f"[tool.wfasync]\n{table}\n", encoding="utf-8")
        (project / path.name).write_bytes(path.read_bytes())
        result = run_wfasync("check", "--no-cache", "--format", "json", ".", cwd=project)
        assert result.returncode in (0, 1), result.stderr
        got = {(path.name, f["line"], f["code"]) for f in json.loads(result.stdout)["findings"]}
        assert got == _expectations(path, path.name), path.name


def test_select_ignore_noqa_exclude(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.wfasync]\nignore = ["WFA101"]\nexclude = ["skip/"]\n')
    write(tmp_path, "bad.py", BAD.replace("time.sleep(1)", "time.sleep(1)  # noqa: WFA103"))
    write(tmp_path, "skip/bad.py", BAD)
    result = run_wfasync("check", "--format", "json", ".", cwd=tmp_path)
    assert json.loads(result.stdout)["findings"] == []
    assert result.returncode == 0
    result = run_wfasync("check", "--format", "json", "--isolated", ".", cwd=tmp_path)
    report = json.loads(result.stdout)
    assert {(f["path"], f["code"]) for f in report["findings"]} == {
        ("bad.py", "WFA101"), (os.path.join("skip", "bad.py"), "WFA101"), (os.path.join("skip", "bad.py"), "WFA103")}
    result = run_wfasync("check", "--format", "json", "--isolated", "--select", "WFA103", "--exclude", "skip", ".",
                         cwd=tmp_path)
    assert json.loads(result.stdout)["findings"] == []


def test_noqa_with_codes_silences_only_those_codes(tmp_path: Path) -> None:
    """``# noqa: WFA101`` and ``# noqa: ASYNC110`` name codes, as in flake8: neither is a bare
    ``# noqa`` silencing everything on the line."""
    write(tmp_path, "app.py", """\
import time

import requests


async def poll(url):
    time.sleep(1); requests.get(url)  # noqa: WFA101
    requests.get(url)  # noqa: ASYNC110
    requests.get(url)  # noqa:WFA101,WFA103
    time.sleep(1)  # NOQA
""")
    result = run_wfasync("check", "--format", "json", "--isolated", "--no-cache", ".", cwd=tmp_path)
    got = {(f["line"], f["code"]) for f in json.loads(result.stdout)["findings"]}
    assert got == {(7, "WFA103"), (8, "WFA101")}


def test_cache_answers_an_unchanged_tree_and_notices_edits(tmp_path: Path) -> None:
    for i in range(5):
        write(tmp_path, f"m{i}.py", BAD if i % 2 else CLEAN)
    cold = run_wfasync("check", "-v", "--isolated", "--format", "json", ".", cwd=tmp_path)
    assert "5 files: 0 from the cache, 2 analysed, 3 skipped by the pre-check" in cold.stderr
    assert (tmp_path / ".wfasync_cache").is_dir()
    warm = run_wfasync("check", "-v", "--isolated", "--format", "json", ".", cwd=tmp_path)
    assert "5 files: 5 from the cache, 0 analysed" in warm.stderr
    assert "index: not needed (unchanged tree)" in warm.stderr
    assert warm.stdout == cold.stdout and warm.returncode == cold.returncode == 1
    # An edited file is analysed again; the others still come from the cache.
    (tmp_path / "m0.py").write_text(BAD)
    edited = run_wfasync("check", "-v", "--isolated", "--format", "json", ".", cwd=tmp_path)
    assert "5 files: 4 from the cache, 1 analysed" in edited.stderr
    assert len(json.loads(edited.stdout)["findings"]) == len(json.loads(cold.stdout)["findings"]) + 2
    # Settings that change findings use their own cache entries.
    steps = run_wfasync("check", "-v", "--isolated", "--scope", "steps", "--format", "json", ".", cwd=tmp_path)
    assert "0 from the cache" in steps.stderr
    # --select/--ignore filter cached results, they need no new analysis.
    select = run_wfasync("check", "-v", "--isolated", "--select", "WFA103", "--format", "json", ".", cwd=tmp_path)
    assert "5 from the cache" in select.stderr
    assert {f["code"] for f in json.loads(select.stdout)["findings"]} == {"WFA103"}


def test_no_cache_writes_nothing(tmp_path: Path) -> None:
    write(tmp_path, "bad.py", BAD)
    run_wfasync("check", "--isolated", "--no-cache", ".", cwd=tmp_path)
    assert not (tmp_path / ".wfasync_cache").exists()


def test_process_pool_and_sequential_agree(tmp_path: Path) -> None:
    for i in range(60):
        write(tmp_path, f"pkg/m{i:02}.py", BAD if i % 3 else CLEAN + f"\nX = {i}\n")
    write(tmp_path, "pkg/broken.py", "async def (\n")
    seq = run_wfasync("check", "--isolated", "--no-cache", "-v", "--jobs", "1", "--format", "json", ".", cwd=tmp_path)
    par = run_wfasync("check", "--isolated", "--no-cache", "-v", "--jobs", "2", "--format", "json", ".", cwd=tmp_path)
    assert "41 analysed" in par.stderr  # a pool (the threshold is 24); the rest fail the pre-check
    assert json.loads(seq.stdout) == json.loads(par.stdout)
    assert len(json.loads(par.stdout)["findings"]) == 80
    assert seq.returncode == par.returncode == 1


def test_whole_project_wfa201_across_modules_and_its_cache(tmp_path: Path) -> None:
    write(tmp_path, "pkg/__init__.py", "")
    helpers = write(tmp_path, "pkg/helpers.py",
                    "def load(path):\n    with open(path) as fh:\n        return fh.read()\n")
    write(tmp_path, "pkg/app.py", "from pkg import helpers\n\n\nasync def main(p):\n    return helpers.load(p)\n")
    write(tmp_path, "pkg/other.py", BAD)
    first = run_wfasync("check", "--isolated", "-v", "--format", "json", ".", cwd=tmp_path)
    assert "index: yes" in first.stderr
    found = [(f["path"], f["code"]) for f in json.loads(first.stdout)["findings"]]
    assert (os.path.join("pkg", "app.py"), "WFA201") in found
    app = next(f for f in json.loads(first.stdout)["findings"] if f["code"] == "WFA201")
    assert "pkg.helpers.load() -> open" in app["message"]
    # The helper stops blocking: app.py is analysed again (its index tag changed), other.py
    # still comes from the cache, and the cross-module finding is gone.
    helpers.write_text("def load(path):\n    return path.upper()\n")
    second = run_wfasync("check", "--isolated", "-v", "--format", "json", ".", cwd=tmp_path)
    assert "from the cache" in second.stderr
    assert [f["code"] for f in json.loads(second.stdout)["findings"] if "app.py" in f["path"]] == []
    assert re.search(r"4 files: [1-3] from the cache", second.stderr), second.stderr  # other.py at least
    # And fix offloads a cross-module call like any other.
    helpers.write_text("import time\n\n\ndef load(path):\n    time.sleep(1)\n    return path\n")
    fixed = run_wfasync("fix", "--isolated", os.path.join("pkg", "app.py"), ".", cwd=tmp_path)
    assert "return await asyncio.to_thread(helpers.load, p)" in (tmp_path / "pkg" / "app.py").read_text()
    assert fixed.returncode == 0, fixed.stdout


def test_chains_name_the_sink_file_the_same_way_in_the_module_and_across_modules(tmp_path: Path) -> None:
    """A chain ending in the coroutine's own module names the sink's file as the run names
    files (pkg/app.py), as a chain ending in another module does, not by its bare basename."""
    write(tmp_path, "pkg/__init__.py", "")
    write(tmp_path, "pkg/helpers.py", "import time\n\n\ndef nap():\n    time.sleep(1)\n")
    write(tmp_path, "pkg/app.py", "import time\n\nfrom pkg import helpers\n\n\ndef rest():\n"
                                  "    time.sleep(1)\n\n\nasync def main():\n    rest()\n    helpers.nap()\n")
    run = run_wfasync("check", "--isolated", "--no-cache", "--format", "json", ".", cwd=tmp_path)
    messages = {f["line"]: f["message"] for f in json.loads(run.stdout)["findings"] if f["code"] == "WFA201"}
    app, helpers = os.path.join("pkg", "app.py"), os.path.join("pkg", "helpers.py")
    assert f"through rest() -> time.sleep ({app}:7)" in messages[11]
    assert f"through pkg.helpers.nap() -> time.sleep ({helpers}:5)" in messages[12]


def test_values_of_other_modules_and_their_cache(tmp_path: Path) -> None:
    """A constant and a factory of another module: found through the project index, and a
    change to that module reaches the cached result of the module that uses them."""
    write(tmp_path, "pkg/__init__.py", "")
    config = write(tmp_path, "pkg/config.py",
                  "from pathlib import Path\n\nimport boto3\n\nFILES = Path('/srv') / 'files'\n\n\n"
                  "def get_client():\n    return boto3.client('logs')\n")
    write(tmp_path, "pkg/server.py",
          "from .config import FILES, get_client\n\n\nasync def handler(name):\n"
          "    (FILES / name).read_bytes()\n    return get_client().put_log_events()\n")
    first = run_wfasync("check", "--isolated", "--format", "json", ".", cwd=tmp_path)
    found = [(f["code"], f["line"]) for f in json.loads(first.stdout)["findings"]]
    assert found == [("WFA102", 5), ("WFA110", 6)], first.stdout
    # FILES becomes a string and the factory returns a plain value: server.py is analysed again.
    config.write_text("FILES = '/srv/files'\n\n\ndef get_client():\n    return None\n")
    second = run_wfasync("check", "--isolated", "-v", "--format", "json", ".", cwd=tmp_path)
    assert json.loads(second.stdout)["findings"] == [], second.stdout
    # Without the project index (one file alone, no package): nothing is known of them.
    alone = run_wfasync("check", "--isolated", "--no-cache", "--format", "json", "server.py",
                        cwd=tmp_path / "pkg")
    assert json.loads(alone.stdout)["findings"] == []


def test_named_files_see_the_helpers_of_the_whole_project(tmp_path: Path) -> None:
    """pre-commit passes only the changed files: the project index still covers the project."""
    write(tmp_path, "pyproject.toml", "[project]\nname = 'demo'\n")
    write(tmp_path, "pkg/__init__.py", "")
    write(tmp_path, "pkg/helpers.py", "import time\n\n\ndef wait():\n    time.sleep(1)\n")
    write(tmp_path, "pkg/app.py", "from pkg.helpers import wait\n\n\nasync def main():\n    wait()\n")
    result = run_wfasync("check", "--format", "json", os.path.join("pkg", "app.py"), cwd=tmp_path)
    findings = json.loads(result.stdout)["findings"]
    assert [(f["code"], f["line"]) for f in findings] == [("WFA201", 5)]
    assert "pkg.helpers.wait() -> time.sleep" in findings[0]["message"]
    assert json.loads(result.stdout)["files_checked"] == 1
