"""Fit and choose the learned detector's cheap gate on training-split data (issue 17, item 3).

1. Fit: `gate.fit_gate` on the cheap facts of seeded bugs against every editable statement of
   the detector's own training files (no code model needed).
2. Choose: on the detector's validation files (other training-split packages), the seeded bugs
   the full detector reports at its threshold are scored with the code model; the gate
   threshold is the highest one that keeps at least ``--keep`` of them. The share of whole-file
   statements it sends to the model is printed beside it, with a baseline gate that needs no
   fitting (every statement with a usage fact or a candidate edit of a name).
3. ``--write`` saves ``gate.json`` beside the shipped detector.

    OMP_NUM_THREADS=1 .venv/bin/python bench/defects_gate.py --fit-files 150 --choose-files 40
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from codeassist.defects.gate import (  # noqa: E402
    CHEAP_FEATURES,
    cheap_rows,
    fit_gate,
    save_gate,
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fit-files", type=int, default=150)
    parser.add_argument("--choose-files", type=int, default=40)
    parser.add_argument("--mutants", type=int, default=10)
    parser.add_argument("--keep", type=float, default=0.9, help="share of found bugs to keep")
    parser.add_argument("--write", action="store_true", help="save gate.json")
    args = parser.parse_args()
    from codeassist.code_model import load_code_model
    from codeassist.defects.dataset import build_dataset
    from codeassist.defects.detector import DETECTOR_DIR, load_detector
    from codeassist.defects.training import TrainDetectorConfig, split_training_files
    from core_model.runtime import set_threads

    set_threads(1)
    started = time.perf_counter()
    print(f"command: {' '.join(sys.argv)}")
    print(f"load average before: {os.getloadavg()}")
    train_files, val_files = split_training_files(TrainDetectorConfig())
    fit_files, choose_files = train_files[: args.fit_files], val_files[: args.choose_files]
    rows, y, _ = cheap_rows([f.text for f in fit_files], args.mutants, seed=0)
    gate = fit_gate(rows, y)
    print(f"fit: {len(fit_files)} training files, {int(y.sum())} seeded bugs, "
          f"{int((y == 0).sum())} editable clean statements")  # fmt: skip

    detector = load_detector()
    model = load_code_model()
    bugs = build_dataset(model, choose_files, args.mutants, seed=1, clean_per_file=0)
    probability = detector.score(bugs.x)[0]
    found = probability >= detector.threshold
    likely = probability >= 0.5
    whole, whole_y, _ = cheap_rows([f.text for f in choose_files], 0, seed=1)
    assert not whole_y.any()
    statements = sum(_count_statements(f.text) for f in choose_files)
    lines = sum(f.text.count("\n") + 1 for f in choose_files)
    print(f"choose: {len(choose_files)} files of other training-split packages, {lines:,} lines, "
          f"{statements:,} statements ({len(whole):,} with a candidate edit); "
          f"{len(probability)} seeded bugs, {int(found.sum())} reported by the full detector at "
          f"{detector.threshold:.3f}, {int(likely.sum())} at 0.5")  # fmt: skip

    bug_scores, clean_scores = gate.score(bugs.cheap), gate.score(whole)
    print(
        "\n| gate threshold | statements scored (of all) | found bugs kept | "
        "bugs >= 0.5 kept | seeded bugs kept |"
    )
    print("|---|---|---|---|---|")
    candidates = np.unique(np.round(np.quantile(clean_scores, np.linspace(0, 0.99, 100)), 4))
    chosen = 0.0
    for t in candidates:
        kept = bug_scores >= t
        if found.any() and kept[found].mean() >= args.keep:
            chosen = float(t)
    for t in sorted({*np.round(np.linspace(0.05, 0.95, 10), 2).tolist(), chosen}):
        kept = bug_scores >= t
        print(f"| {t:.4f}{' (chosen)' if t == chosen else ''} | "
              f"{(clean_scores >= t).sum() / statements:.1%} | {int(kept[found].sum())} of "
              f"{int(found.sum())} | {int(kept[likely].sum())} of {int(likely.sum())} | "
              f"{int(kept.sum())} of {len(kept)} |")  # fmt: skip
    usage_cols = [i for i, n in enumerate(CHEAP_FEATURES) if i < 11]
    name_cols = [CHEAP_FEATURES.index(f"edits_{k}") for k in ("wrong_variable", "wrong_attribute")]

    def baseline(r: np.ndarray) -> np.ndarray:
        return (r[:, usage_cols] > 0).any(1) | (r[:, name_cols] > 0).any(1)

    b_bugs, b_clean = baseline(bugs.cheap), baseline(whole)
    print(f"| baseline: any usage fact or a name edit | {b_clean.sum() / statements:.1%} | "
          f"{int(b_bugs[found].sum())} of {int(found.sum())} | {int(b_bugs[likely].sum())} of "
          f"{int(likely.sum())} | {int(b_bugs.sum())} of {len(b_bugs)} |")  # fmt: skip
    gate = dataclasses.replace(
        gate,
        threshold=chosen,
        meta={
            "fit_files": len(fit_files),
            "choose_files": len(choose_files),
            "mutants_per_file": args.mutants,
            "keep_found": args.keep,
            "found_kept": int((bug_scores >= chosen)[found].sum()),
            "found": int(found.sum()),
            "statements_scored_share": round(float((clean_scores >= chosen).sum() / statements), 4),
            "detector_threshold": detector.threshold,
            "command": " ".join(["bench/defects_gate.py", *sys.argv[1:]]),
        },
    )
    print(f"\nchosen gate threshold {chosen:.4f}; {time.perf_counter() - started:.0f} s; "
          f"load average after: {os.getloadavg()}")  # fmt: skip
    if args.write:
        save_gate(gate, DETECTOR_DIR)
        print(f"wrote {DETECTOR_DIR / 'gate.json'}")


def _count_statements(text: str) -> int:
    import ast

    from codeassist.defects.statements import SourceIndex, list_statements

    return len(list_statements(ast.parse(text), SourceIndex(text)))


if __name__ == "__main__":
    main()
