"""The sarif format: SARIF 2.1.0 as GitHub code scanning accepts it (`upload-sarif`)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import quote

from cio_aep import __version__
from cio_aep.findings import Finding, Report, Rule
from cio_aep.reporters.base import Reporter

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"

# RFC 3986 path characters left as they are; ':' is encoded because in a relative
# reference's first segment it would read as a URI scheme.
_URI_SAFE = "/-._~!$&'()*+,;=@"

# GitHub code scanning rejects a whole upload with more results than this in one run.
MAX_RESULTS = 25_000


def artifact_location(file: str) -> dict[str, str]:
    """A repository-relative URI (forward slashes, percent-encoded) based on %SRCROOT%."""
    if file in ("", "-"):
        return {"uri": "stdin", "uriBaseId": "%SRCROOT%"}
    path = file.replace("\\", "/")
    if os.path.isabs(path):
        # Code scanning needs paths relative to the checkout: relative to the working
        # directory when the file is under it, else an absolute file: URI.
        relative = os.path.relpath(path)
        if relative.startswith(".."):
            return {"uri": Path(path).as_uri()}
        path = relative.replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return {"uri": quote(path, safe=_URI_SAFE, errors="replace"), "uriBaseId": "%SRCROOT%"}


def _first_sentence(text: str) -> str:
    head, dot, _ = text.partition(". ")
    return head + dot.strip() if dot else text


def _rule(rule: Rule) -> dict[str, object]:
    description = rule.description or rule.name
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": _first_sentence(description)},
        "fullDescription": {"text": description},
        "defaultConfiguration": {"level": rule.severity.value},
        "help": {"text": description},
    }


def _result(
    finding: Finding, rule_index: int, artifact: dict[str, str], failing: bool = False
) -> dict[str, object]:
    text = finding.message
    if finding.path:
        text += f"\nat {finding.path}"
    if finding.hint:
        text += f"\nhint: {finding.hint}"
    region = {
        "startLine": max(1, finding.line or 1),
        "startColumn": max(1, finding.column or 1),
    }
    return {
        "ruleId": finding.rule.id,
        "ruleIndex": rule_index,
        "level": "error" if failing else finding.level.value,  # warnings too under --strict
        "message": {"text": text},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": artifact,
                    "region": region,
                }
            }
        ],
    }


def sarif_document(report: Report) -> dict[str, object]:
    """The SARIF log as a dict: one run; rules sorted by id so indices are stable.

    Over `MAX_RESULTS` findings, errors are kept first and a notification says how many
    were left out, so the upload still succeeds and the worst problems still show.
    """
    rules = sorted(report.rules(), key=lambda rule: rule.id)
    index = {rule.id: i for i, rule in enumerate(rules)}
    findings = report.findings
    left_out = max(0, len(findings) - MAX_RESULTS)
    if left_out:
        # sorted() is stable: each severity keeps the order the command found things in.
        findings = sorted(findings, key=lambda f: not f.is_error)[:MAX_RESULTS]
    artifacts: dict[str, dict[str, str]] = {}
    results = []
    for finding in findings:
        artifact = artifacts.get(finding.file)
        if artifact is None:
            artifact = artifacts[finding.file] = artifact_location(finding.file)
        failing = report.fails_on(finding)
        results.append(_result(finding, index[finding.rule.id], artifact, failing))
    run: dict[str, object] = {
        "tool": {
            "driver": {
                "name": "cio-aep",
                "version": __version__,
                # No informationUri (optional in SARIF): the project has no public page yet.
                "rules": [_rule(rule) for rule in rules],
            }
        },
        # Our columns count characters (code points), not UTF-16 units.
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    if left_out:
        note = (
            f"{left_out} more findings left out: GitHub code scanning accepts at most "
            f"{MAX_RESULTS} results per run; use --format json to see them all"
        )
        run["invocations"] = [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": [{"level": "warning", "message": {"text": note}}],
            }
        ]
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


class SarifReporter(Reporter):
    """SARIF 2.1.0 for code scanning; an empty result list is still a valid log.

    Compact JSON: SARIF is read by tools, code scanning limits upload size, and the indenting
    encoder is pure Python (about 6x slower on 100,000 findings)."""

    name = "sarif"

    def _render(self, report: Report) -> str:
        return json.dumps(sarif_document(report), ensure_ascii=False, separators=(",", ":"))
