"""Tiny models built once per session (seeded), on CPU with one thread."""

from pathlib import Path

import numpy as np
import pytest

from core_model.config import PRESETS
from core_model.corpus import read_corpus, stdlib_dir
from core_model.load import Model, build_model, build_text_model, save
from core_model.records import FieldSpec, RecordSchema
from core_model.runtime import set_threads

set_threads(1)


@pytest.fixture(scope="session")
def code_texts() -> list[str]:
    return read_corpus([stdlib_dir() / "json", stdlib_dir() / "email"], max_bytes=400_000)


@pytest.fixture(scope="session")
def tiny_lm(code_texts) -> Model:
    return build_text_model(PRESETS["tiny"], code_texts, vocab_size=512, seed=0)


@pytest.fixture(scope="session")
def tiny_lm_dir(tiny_lm, tmp_path_factory) -> Path:
    return save(tiny_lm, tmp_path_factory.mktemp("models") / "tiny_lm")


@pytest.fixture(scope="session")
def schema() -> RecordSchema:
    return RecordSchema((FieldSpec("amount", 16), FieldSpec("mcc", 32), FieldSpec("hour", 25)))


@pytest.fixture(scope="session")
def tiny_records(schema) -> Model:
    return build_model(PRESETS["tiny"], schema=schema, seed=0)


@pytest.fixture
def random_sequences():
    """Seeded random record sequences of the given lengths."""

    def make(schema: RecordSchema, lengths, seed: int = 0) -> list[np.ndarray]:
        rng = np.random.default_rng(seed)
        return [
            np.stack([rng.integers(0, f.cardinality, n) for f in schema.fields], axis=1)
            for n in lengths
        ]

    return make
