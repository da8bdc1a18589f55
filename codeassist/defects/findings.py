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


# First-pass bug probability below which a statement's edits are not scored in full (see
# `DetectOptions.gate`). Off by default: at 0.1 the held-out standard sample lost 2 of 17 learned
# findings (ROC-AUC 0.917 -> 0.902) for 17% less time, the written pass being most of the cost
# (docs/benchmarks.md, "Candidate gating").
GATE = 0.0


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
        threads: CPU threads for the learned part (torch, scikit-learn's OpenMP, the
            tokenizer). One by default: pools wider than the free cores spin against other
            processes and collapse under load.
        gate: Score a statement's candidate edits in full only where the first pass rates it
            at or above this bug probability (`detector.statement_features`); 0 (the default)
            scores every statement in full.
        pylint: Run pylint's chosen inference checks (`pylint_engine`; slower than ruff).
        cheap_gate: Send only the statements the cheap gate (`codeassist.defects.gate`, from
            syntax-tree facts alone) finds suspicious through the code model; False scores
            every statement some candidate edit applies to.
    """

    static: bool = True
    learned: bool = True
    semantic: bool = True
    min_confidence: float | None = None
    detector_dir: str | None = None
    code_model_dir: str | None = None
    max_findings_per_file: int = 20
    threads: int = 1
    gate: float = GATE
    pylint: bool = False
    cheap_gate: bool = True
