"""The `Finding` value type every defect engine returns, and the options of a detection run."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# Bug kinds the seeded-bug generator produces and the learned detector names.
BUG_KINDS: tuple[str, ...] = (
    "swapped_args",
    "wrong_binary_operator",
    "wrong_comparison",
    "wrong_boolean_operator",
    "wrong_variable",
    "off_by_one",
    "negated_condition",
    "wrong_attribute",
    "dropped_return",
)


@dataclass(frozen=True)
class Finding:
    """One suspected defect.

    Attributes:
        path: The file as the user named it (repo-relative in SARIF output).
        line: 1-based line of the suspicious code.
        column: 1-based column.
        rule_id: Stable rule identifier (``ruff/F821``, ``learned/wrong_comparison``).
        kind: Bug kind (one of `BUG_KINDS` for learned findings, a ruff rule class otherwise).
        message: What looks wrong, for a person.
        confidence: Estimated probability that this is a real bug, in [0, 1].
        engine: ``"static"``, ``"semantic"`` or ``"learned"``.
        end_line: Last line of the flagged statement (inclusive).
        end_column: 1-based column just after the flagged code on ``end_line``.
        fix: Replacement text for the flagged statement, or None when no fix is proposed.
    """

    path: str
    line: int
    column: int
    rule_id: str
    kind: str
    message: str
    confidence: float
    engine: str
    end_line: int | None = None
    end_column: int | None = None
    fix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class DetectOptions:
    """What a detection run does.

    Attributes:
        static: Run the ruff-based static engine.
        semantic: Run the semantic engine (`codeassist.defects.semantic`).
        learned: Run the learned detector (needs the shipped code model and detector).
        min_confidence: Drop findings below this confidence; None means the detector's
            calibrated default threshold.
        detector_dir: Detector artifact directory; None means the shipped one.
        code_model_dir: Code model directory; None means the shipped one.
        max_findings_per_file: Cap on learned findings per file, the most confident first.
    """

    static: bool = True
    learned: bool = True
    semantic: bool = True
    min_confidence: float | None = None
    detector_dir: str | None = None
    code_model_dir: str | None = None
    max_findings_per_file: int = 20
