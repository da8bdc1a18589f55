"""Defect detection benchmark: detection lines/s on CPU (static alone vs static + learned), the
training figures of the shipped code model and detector, and the held-out evaluation table.

    OMP_NUM_THREADS=1 .venv/bin/python bench/defects.py --files 20 --eval-files 40
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from codeassist.code_model import CODE_MODEL_DIR  # noqa: E402
from codeassist.defects.corpus import list_corpus  # noqa: E402
from codeassist.defects.detect import detect_source  # noqa: E402
from codeassist.defects.detector import DETECTOR_DIR  # noqa: E402
from codeassist.defects.evaluate import EvaluateConfig, evaluate, render_table  # noqa: E402
from codeassist.defects.findings import DetectOptions  # noqa: E402
from core_model.runtime import set_threads  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--eval-files", type=int, default=40, help="0 skips the evaluation")
    args = parser.parse_args()
    set_threads(1)
    files = list_corpus("eval", max_files=args.files, seed=7)
    lines = sum(f.text.count("\n") + 1 for f in files)
    print(f"command: {' '.join(sys.argv)}")
    print("| engine | files | lines | seconds | lines/s |")
    print("|---|---|---|---|---|")
    for name, options in (
        ("static (ruff)", DetectOptions(learned=False)),
        ("static + learned", DetectOptions()),
    ):
        detect_source(files[0].text, "warm.py", options)  # load models outside the timing
        started = time.perf_counter()
        for f in files:
            detect_source(f.text, str(f.path), options)
        seconds = time.perf_counter() - started
        print(f"| {name} | {len(files)} | {lines} | {seconds:.2f} | {lines / seconds:,.0f} |")
    meta = json.loads((DETECTOR_DIR / "detector.json").read_text())
    print(f"\ndetector training: {meta['seconds']} s ({meta['feature_seconds']} s features)")
    for directory in (CODE_MODEL_DIR, DETECTOR_DIR):
        size = sum(p.stat().st_size for p in directory.iterdir() if p.is_file())
        print(f"artifact {directory.name}: {size / 1e6:.1f} MB")
    if args.eval_files:  # 0: speed and training figures only
        print(render_table(evaluate(EvaluateConfig(files=args.eval_files))))


if __name__ == "__main__":
    main()
