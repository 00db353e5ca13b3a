"""Data-driven: every file in tests/data/mappings/{valid,invalid} and examples/mappings runs
through the real CLI. An invalid file's `<name>.expect.json` lists the findings (rule id, line,
and column/severity where given) it must produce, exactly; a valid file may have one too
(for arguments, or warnings it is allowed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cio_aep.cli.main import app

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "mappings"
EXAMPLES = ROOT / "examples" / "mappings"
INPUT_SUFFIXES = {".json", ".yaml", ".yml", ".csv"}


def inputs(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix in INPUT_SUFFIXES and not p.name.endswith(".expect.json")
    )


def expectation(path: Path) -> dict[str, Any]:
    expect = path.with_name(path.stem + ".expect.json")
    if expect.exists():
        loaded: dict[str, Any] = json.loads(expect.read_text(encoding="utf-8"))
        return loaded
    return {}


def run_json(path: Path, args: list[str]) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(
        app, ["validate-mapping", *args, "--format", "json", str(path.relative_to(ROOT))]
    )
    assert result.stderr == "", result.stderr
    return result.exit_code, json.loads(result.stdout), result.stdout


def key(item: dict[str, Any], finding: dict[str, Any]) -> tuple[object, ...]:
    """The parts of a finding the expectation names."""
    parts: list[object] = [finding["rule_id"], finding["line"]]
    for name in ("column", "severity"):
        if name in item:
            parts.append(finding[name])
    return tuple(parts)


def expected_key(item: dict[str, Any]) -> tuple[object, ...]:
    parts: list[object] = [item["rule"], item["line"]]
    parts += [item[name] for name in ("column", "severity") if name in item]
    return tuple(parts)


def check_findings(expect: dict[str, Any], document: dict[str, Any]) -> None:
    wanted = sorted((expected_key(i) for i in expect.get("findings", [])), key=repr)
    # Pair every expected item with the findings of its rule, in the same shape.
    shapes = {item["rule"]: item for item in expect.get("findings", [])}
    got = sorted((key(shapes.get(f["rule_id"], {}), f) for f in document["findings"]), key=repr)
    assert got == wanted


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # expectations name files relative to the repository root
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.mark.parametrize("path", inputs(DATA / "valid"), ids=lambda p: p.name)
def test_valid_inputs_pass(path: Path) -> None:
    expect = expectation(path)
    code, document, _ = run_json(path, expect.get("args", []))
    assert code == expect.get("exit", 0)
    assert document["status"] == "ok"
    assert all(item["ok"] for item in document["checklist"])
    check_findings(expect, document)


@pytest.mark.parametrize("path", inputs(DATA / "invalid"), ids=lambda p: p.name)
def test_invalid_inputs_give_exactly_the_expected_findings(path: Path) -> None:
    expect = expectation(path)
    assert expect, f"{path.name} needs a {path.stem}.expect.json"
    code, document, _ = run_json(path, expect.get("args", []))
    assert code == expect["exit"] == 1
    assert document["status"] == "failed"
    check_findings(expect, document)
    if expect.get("stdout_contains"):
        text = CliRunner().invoke(
            app, ["validate-mapping", *expect.get("args", []), str(path.relative_to(ROOT))]
        )
        for snippet in expect["stdout_contains"]:
            assert snippet in text.stdout


def test_every_input_format_is_covered() -> None:
    formats = {
        run_json(p, expectation(p).get("args", []))[1]["details"]["inputs"][0]["shape"]
        for p in inputs(DATA / "valid")
    }
    assert {
        "Data Prep API mapping set",
        "legacy mapping set (sourceAttribute/destinationXdmPath)",
        "stored mapping set (both vocabularies)",
        "bare list: Data Prep API mapping set",
        "mapping config (source: destination)",
        "CSV",
    } <= formats


@pytest.mark.parametrize("path", inputs(EXAMPLES), ids=lambda p: p.name)
def test_examples(path: Path) -> None:
    # --strict: a "valid" example has no warning either.
    result = CliRunner().invoke(app, ["validate-mapping", "--strict", str(path)])
    expected = 1 if path.name.startswith("invalid") else 0
    assert result.exit_code == expected, result.stdout + result.stderr
    assert result.stderr == ""


def test_github_workflow_example_uses_real_flags() -> None:
    import re

    import yaml

    workflow = yaml.safe_load((ROOT / "examples/github-actions-validate-mapping.yml").read_text())
    runs = [step.get("run", "") for step in workflow["jobs"]["validate-mapping"]["steps"]]
    commands = [r for r in runs if "cio-aep validate-mapping" in r]
    assert len(commands) == 2
    help_text = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["validate-mapping", "--help"])
    for command in commands:
        for flag in re.findall(r"\s(--[a-z-]+)", command):
            assert flag in help_text.stdout, flag
        assert "{json,yaml,yml,csv}" in command  # every input format the hook also checks
