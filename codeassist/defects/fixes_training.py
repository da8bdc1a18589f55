"""Training the learned detector on real bug fixes beside seeded mutants (`train-defects --fixes`).

The seeded rows are those of `training.train_detector` (the same files, mutants and clean
samples). Each mined fix (`mining`) adds, from its function before the fix, the statements on
the buggy lines as positives and the function's other statements as negatives, and every
statement of the function after the fix as negatives: the detector learns what a real bug looks
like against the code around it and against its own fix. Settings are chosen on the validation
repositories' fixes (hits on the buggy line at the threshold that keeps the seeded validation
files' false alarms at the target); the threshold of the shipped detector is then set by
`training.calibrate_detector` as before.
"""

from __future__ import annotations

from pathlib import Path

from codeassist.defects.dataset import Dataset, build_dataset
from codeassist.defects.feature_cache import cached_dataset, dataset_key
from codeassist.defects.training import TrainDetectorConfig, split_training_files
from core_model.load import Model


def seeded_datasets(
    model: Model, config: TrainDetectorConfig, digest: str | None, cache_dir: Path | None
) -> tuple[Dataset, Dataset, list, list]:
    """The seeded training rows and validation rows `train_detector` builds, cached by the code
    model's digest, the files and the settings; then the training and validation files."""
    train_files, val_files = split_training_files(config)
    common = dict(
        code_model=digest,
        mutants=config.mutants_per_file,
        seed=config.seed,
        max_bytes=config.max_file_bytes,
    )
    train = cached_dataset(
        cache_dir,
        "seeded-train-"
        + dataset_key(
            files=[str(f.path) for f in train_files], clean=config.clean_per_file, **common
        ),
        lambda: build_dataset(
            model, train_files, config.mutants_per_file, config.seed, config.clean_per_file
        ),
    )
    val = cached_dataset(
        cache_dir,
        "seeded-val-" + dataset_key(files=[str(f.path) for f in val_files], **common),
        lambda: build_dataset(model, val_files, config.mutants_per_file, config.seed + 1, None),
    )
    return train, val, train_files, val_files
