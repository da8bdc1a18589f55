"""SARIF 2.1.0 output for defect findings, in the shape GitHub code scanning accepts.

URIs are repository-relative with ``uriBaseId`` ``%SRCROOT%`` (GitHub rejects absolute paths); the
document is checked against a hand-written subset of the 2.1.0 schema shipped beside the defects
package (no network: the official schema cannot be downloaded here).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from codeassist.defects.findings import Finding
from codeassist.errors import CodeassistError

SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SCHEMA_SUBSET_PATH = Path(__file__).parent / "sarif-2.1.0-subset.schema.json"
TOOL_NAME = "moesuite-defects"
INFORMATION_URI = "https://github.com/moesuite/moesuite"

LEARNED_DESCRIPTIONS = {
    "swapped_args": "Two call arguments look swapped.",
    "wrong_binary_operator": "An arithmetic or bitwise operator looks wrong.",
    "wrong_comparison": "A comparison operator looks wrong.",
    "wrong_boolean_operator": "`and`/`or` looks swapped.",
    "wrong_variable": "A variable looks like the wrong one of the names in scope.",
    "off_by_one": "A range bound, slice bound or index looks off by one.",
    "negated_condition": "A condition looks negated.",
    "wrong_attribute": "An attribute or function name looks like the wrong one.",
    "dropped_return": "A `return` or `await` looks missing.",
}


def _level(confidence: float) -> str:
    if confidence >= 0.8:
        return "error"
    if confidence >= 0.5:
        return "warning"
    return "note"


def find_source_root(start: Path) -> Path:
    """The enclosing git work tree of `start` (a directory), else `start` itself."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists():
            return candidate
    return start


def relative_uri(path: str, root: Path) -> str:
    """`path` as a POSIX URI relative to `root`.

    Raises:
        CodeassistError: the file lies outside `root`, so no repository-relative URI exists.
    """
    if path in ("-", "<stdin>"):
        return "stdin.py"
    resolved = Path(path).resolve()
    try:
        relative = resolved.relative_to(root.resolve())
    except ValueError:
        raise CodeassistError(
            f"{path}: outside the source root {root}; SARIF needs repository-relative paths "
            "(run from inside the repository or pass --source-root)"
        ) from None
    return str(PurePosixPath(*relative.parts))


def _rule(rule_id: str, sample: Finding) -> dict[str, Any]:
    if sample.engine == "learned":
        text = LEARNED_DESCRIPTIONS.get(sample.kind, sample.kind)
        full = (
            f"{text} Ranked by a classifier over the MoE code model's per-token features "
            "(seeded-bug training in the manner of DeepBugs)."
        )
        tags = ["correctness", "learned", sample.kind]
        precision = "medium"
    elif sample.engine == "pylint":
        code = rule_id.split("/", 1)[-1]
        text = f"pylint {code}: {sample.kind}"
        full = f"pylint message {code} ({sample.kind}), chosen on real bug fixes."
        tags = ["correctness", "pylint"]
        precision = "high" if sample.confidence >= 0.8 else "medium"
    else:
        code = rule_id.split("/", 1)[-1]
        text = f"ruff {code}: {sample.kind}"
        full = f"ruff rule {code} ({sample.kind}), selected because it points at a defect."
        tags = ["correctness", "ruff"]
        precision = "high" if sample.confidence >= 0.8 else "medium"
    rule: dict[str, Any] = {
        "id": rule_id,
        "name": sample.kind,
        "shortDescription": {"text": text},
        "fullDescription": {"text": full},
        "defaultConfiguration": {"level": _level(sample.confidence)},
        "properties": {"tags": tags, "precision": precision},
    }
    if sample.engine == "static" and sample.kind != "syntax-error":
        rule["helpUri"] = f"https://docs.astral.sh/ruff/rules/{sample.kind}"
    return rule


def _fingerprint(finding: Finding, uri: str, line_text: str) -> str:
    # Stable across unrelated edits: the flagged line's content, not its number.
    key = "\0".join((finding.rule_id, uri, line_text.strip()))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def build_sarif(
    findings: Sequence[Finding],
    root: Path,
    tool_version: str,
    line_texts: dict[tuple[str, int], str] | None = None,
) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run holding `findings`.

    Args:
        findings: What to report.
        root: The source root URIs are made relative to (``%SRCROOT%``).
        tool_version: The suite's version string.
        line_texts: (path, line) -> text of that line, for line-content fingerprints.

    Returns:
        The SARIF document as plain JSON data.
    """
    line_texts = line_texts or {}
    rule_ids: list[str] = []
    rules: list[dict[str, Any]] = []
    results = []
    for finding in findings:
        if finding.rule_id not in rule_ids:
            rule_ids.append(finding.rule_id)
            rules.append(_rule(finding.rule_id, finding))
        uri = relative_uri(finding.path, root)
        region: dict[str, int] = {"startLine": finding.line, "startColumn": finding.column}
        if finding.end_line is not None:
            region["endLine"] = finding.end_line
        if finding.end_column is not None:
            region["endColumn"] = finding.end_column
        message = finding.message
        if finding.fix is not None:
            message += f" Suggested fix: `{finding.fix}`"
        results.append(
            {
                "ruleId": finding.rule_id,
                "ruleIndex": rule_ids.index(finding.rule_id),
                "level": _level(finding.confidence),
                "message": {"text": message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
                            "region": region,
                        }
                    }
                ],
                "partialFingerprints": {
                    "moesuiteLineHash/v1": _fingerprint(
                        finding, uri, line_texts.get((finding.path, finding.line), "")
                    )
                },
                "properties": {"confidence": round(finding.confidence, 4), "kind": finding.kind},
            }
        )
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "version": tool_version,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": root.resolve().as_uri() + "/"}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def load_schema_subset() -> dict[str, Any]:
    """The vendored SARIF 2.1.0 schema subset."""
    return json.loads(SCHEMA_SUBSET_PATH.read_text(encoding="utf-8"))


def validate_sarif(document: dict[str, Any]) -> None:
    """Check `document` against the vendored schema subset and the rule-index cross-reference.

    Raises:
        CodeassistError: naming the first violation's JSON path.
    """
    import jsonschema  # imported here: only SARIF output needs it

    validator = jsonschema.Draft7Validator(load_schema_subset())
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise CodeassistError(f"SARIF output invalid at {where}: {error.message}")
    for run in document["runs"]:
        rules = run["tool"]["driver"]["rules"]
        for i, result in enumerate(run["results"]):
            index = result["ruleIndex"]
            if index >= len(rules) or rules[index]["id"] != result["ruleId"]:
                raise CodeassistError(f"SARIF output invalid at runs/results/{i}: ruleIndex")
