"""MoE sequence features: an entity's transactions as a record sequence for core_model.

One position per transaction, fields tokenised to small ints (0 = missing). A DeepSeek-V3-style
record model is pretrained self-supervised to predict the next transaction's fields (no labels
involved). Its features per transaction: the hidden state after it (reduced by a fitted PCA kept
as JSON), its surprisal given the sequence so far, and the router entropy. Batch mode runs
one forward per sequence (windowed by core_model), never one per transaction.

The sequence is each customer's by default. Fraud at a compromised terminal or merchant shows
in *that entity's* sequence (many new cards, unusual amounts or hours, a burst), so a second
record model can read terminal or merchant sequences (``SequenceConfig.entity``), with a field
saying whether the card is new at the entity; `SequenceSet` bundles several such models.
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core_model.config import PRESETS, FeatureOptions, TrainConfig
from core_model.features import extract_record_features, last_record_window_start
from core_model.load import Model, build_model, load, save
from core_model.progress import NULL_PROGRESS, Progress
from core_model.records import FieldSpec, RecordSchema
from core_model.train import train_records
from fraud.features import _codes, hours_weekdays, string_keys, timestamps_ms


@dataclass(frozen=True)
class SequenceConfig:
    """Record model size, pretraining budget and which features the classifier gets.

    The defaults keep the features that raised average precision on a later window of
    held-out simulated data at every pretraining length tried (docs/benchmarks.md, fraud):
    the total and per-field surprisal. Hidden-state components and router entropy never
    helped there and lowered AP when added to per-field surprisal, so they are off unless
    asked for.

    Attributes:
        steps: self-supervised pretraining steps (1000 take 40-90 s on one shared core).
        pca_dims: leading principal components of the hidden state kept as features.
        field_surprisal: one surprisal per record field (amount, hour, MCC, ...) besides
            the total; the total alone hides *which* part of a transaction is unusual.
        router_entropy: the mean MoE routing entropy of the transaction as a feature.
    """

    hidden_size: int = 48
    num_layers: int = 2
    steps: int = 1000
    batch_size: int = 16
    seq_len: int = 64
    lr: float = 3e-3
    pca_dims: int = 0
    max_length: int = 256
    feature_batch: int = 32
    seed: int = 0
    field_surprisal: bool = True
    router_entropy: bool = False
    entity: str = "customer_id"


# Bundles saved before a setting existed were trained without it.
_LEGACY_CONFIG = {"field_surprisal": False, "router_entropy": True}


def _fields(frame: pd.DataFrame, entity: str = "customer_id") -> list[FieldSpec]:
    fields = [
        FieldSpec("amount_bucket", 66),
        FieldSpec("hour", 25),
        FieldSpec("weekday", 8),
        FieldSpec("gap_bucket", 34),
    ]
    if "mcc" in frame.columns and frame["mcc"].notna().any():
        fields.append(FieldSpec("mcc", 257))
    if "channel" in frame.columns and frame["channel"].notna().any():
        fields.append(FieldSpec("channel", 17))
    if "merchant_id" in frame.columns and frame["merchant_id"].notna().any():
        fields.append(FieldSpec("new_merchant", 3))
    if "country" in frame.columns and frame["country"].notna().any():
        fields.append(FieldSpec("country_is_home", 3))
    if entity != "customer_id":
        fields.append(FieldSpec("new_card", 3))
    return fields


def _hash_bucket(values: pd.Series, buckets: int) -> np.ndarray:
    """Stable hash of a string column into 1..buckets (0 = missing)."""
    keys = string_keys(values)
    ok = np.array([k is not None for k in keys], dtype=bool)
    uniq, inv = np.unique(keys[ok].astype(str), return_inverse=True)
    codes = np.array([zlib.crc32(u.encode()) % buckets + 1 for u in uniq], dtype=np.int64)
    out = np.zeros(len(values), dtype=np.int64)
    out[ok] = codes[inv] if len(uniq) else 0
    return out


def tokenise(
    frame: pd.DataFrame, schema: RecordSchema, entity: str = "customer_id"
) -> tuple[list[np.ndarray], np.ndarray]:
    """Sequences per entity (customer by default) ``[T, F]`` and the row order they follow.

    Returns:
        (sequences, order): ``order[i]`` is the frame position of the i-th record when the
        sequences are concatenated. Rows without an entity key form no sequence.
    """
    has_key = frame[entity].notna().to_numpy()
    if not has_key.all():
        keep = np.flatnonzero(has_key)
        seqs, order = tokenise(frame.iloc[keep], schema, entity)
        return seqs, keep[order]
    n = len(frame)
    ts = timestamps_ms(frame["timestamp"])
    cust = _codes(frame[entity])  # the sequence key: a customer, or a terminal, merchant...
    order = np.lexsort((np.arange(n), ts, cust))
    ts_s, cust_s = ts[order], cust[order]
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = cust_s[1:] != cust_s[:-1]
    cols: dict[str, np.ndarray] = {}
    amount = frame["amount"].to_numpy(float)[order]
    cols["amount_bucket"] = np.clip(np.floor(np.log1p(np.maximum(amount, 0)) * 6), 0, 64) + 1
    hour, weekday = hours_weekdays(ts_s)
    cols["hour"] = hour + 1
    cols["weekday"] = weekday + 1
    gap = np.zeros(n)
    gap[1:] = (ts_s[1:] - ts_s[:-1]) / 1000.0
    gb = np.clip(np.floor(np.log2(np.maximum(gap, 1.0))), 0, 31) + 2
    cols["gap_bucket"] = np.where(new_group, 1, gb)
    names = schema.names
    if "mcc" in names:
        cols["mcc"] = _hash_bucket(frame["mcc"], 256)[order]
    if "channel" in names:
        cols["channel"] = _hash_bucket(frame["channel"], 16)[order]
    if "new_merchant" in names:
        m = _codes(frame["merchant_id"])[order]
        pair = cust_s * (m.max() + 2) + (m + 1)
        _, first = np.unique(pair, return_index=True)
        flag = np.ones(n, dtype=np.int64)
        flag[first] = 2
        cols["new_merchant"] = np.where(m < 0, 0, flag)
    if "country_is_home" in names:
        c = _codes(frame["country"])[order]
        # Home country = the customer's first seen country (causal and cheap).
        first_idx = np.maximum.accumulate(np.where(new_group, np.arange(n), 0))
        cols["country_is_home"] = np.where(c < 0, 0, np.where(c == c[first_idx], 1, 2))
    if "new_card" in names:
        card = _codes(frame["customer_id"])[order]
        pair = cust_s * (card.max() + 2) + (card + 1)
        _, first = np.unique(pair, return_index=True)
        flag = np.ones(n, dtype=np.int64)
        flag[first] = 2
        cols["new_card"] = flag
    records = np.stack([np.asarray(cols[f], dtype=np.int64) for f in names], axis=1)
    bounds = np.flatnonzero(new_group).tolist() + [n]
    seqs = [records[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return seqs, order


@dataclass
class SequenceModel:
    """A pretrained record model plus the PCA that reduces its hidden states."""

    model: Model
    config: SequenceConfig
    pca_mean: np.ndarray
    pca_components: np.ndarray  # [k, H]
    train_info: dict[str, Any]

    @property
    def names(self) -> tuple[str, ...]:
        # Customer features keep their historical names; other entities' carry the entity.
        p = "seq" if self.config.entity == "customer_id" else f"seq_{self.config.entity}"
        names = [f"{p}_pc{i}" for i in range(len(self.pca_components))]
        names.append(f"{p}_surprisal")
        if self.config.field_surprisal:
            names += [f"{p}_surprisal_{f}" for f in self.model.schema.names]
        if self.config.router_entropy:
            names.append(f"{p}_router_entropy")
        return tuple(names)

    @property
    def entities(self) -> tuple[str, ...]:
        return (self.config.entity,)

    def features(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Sequence features for every row of ``frame``, index aligned (NaN without a key)."""
        if len(frame) == 0:
            return pd.DataFrame({c: np.empty(0) for c in self.names}, index=frame.index)
        seqs, order = tokenise(frame, self.model.schema, self.config.entity)
        if not seqs:
            return pd.DataFrame(np.nan, columns=list(self.names), index=frame.index)
        opts = FeatureOptions(
            batch_size=self.config.feature_batch, max_length=self.config.max_length
        )
        values = self._values(extract_record_features(self.model, seqs, opts))
        out = np.full((len(frame), values.shape[1]), np.nan)
        out[order] = values
        return pd.DataFrame(out, columns=list(self.names), index=frame.index)

    def _values(self, rf: Any) -> np.ndarray:
        """Feature columns (in `names` order) from extracted record features."""
        parts = [(rf.hidden - self.pca_mean) @ self.pca_components.T, rf.surprisal[:, None]]
        if self.config.field_surprisal:
            parts.append(rf.field_surprisal)
        if self.config.router_entropy:
            parts.append(rf.router_entropy[:, None])
        return np.hstack(parts).astype(np.float64)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        save(self.model, directory / "record_model")
        meta = {
            "config": dataclasses.asdict(self.config),
            "pca_mean": self.pca_mean.tolist(),
            "pca_components": self.pca_components.tolist(),
            "train_info": self.train_info,
        }
        (directory / "sequence.json").write_text(json.dumps(meta), "utf-8")

    def features_for_last(self, frame: pd.DataFrame) -> np.ndarray:
        """Features of ``frame``'s last row, reading only that row's entity sequence.

        Single-transaction scoring passes the customer's history plus other entities' recent
        rows; each model needs only the last row's own sequence.
        """
        key = frame[self.config.entity].iloc[-1]
        if key is None or (isinstance(key, float) and key != key):
            return np.full(len(self.names), np.nan)
        own = frame[frame[self.config.entity].astype(str).to_numpy() == str(key)]
        seqs, order = tokenise(own, self.model.schema, self.config.entity)
        if not seqs or order[-1] != len(own) - 1:
            return self.features(own).to_numpy(dtype=np.float64)[-1]  # not last in time
        # The whole sequence is tokenised (a field like "new card here" looks back to its
        # start), but the last record's features come from its last window alone: one
        # forward instead of one per window of a long terminal history.
        opts = FeatureOptions(
            batch_size=self.config.feature_batch, max_length=self.config.max_length
        )
        start = last_record_window_start(len(seqs[0]), opts)
        rf = extract_record_features(self.model, [seqs[0][start:]], opts)
        return self._values(rf)[-1]


@dataclass
class SequenceSet:
    """Several record models (the customer's sequence, a terminal's...) as one feature block."""

    models: list[SequenceModel]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for m in self.models for n in m.names)

    @property
    def entities(self) -> tuple[str, ...]:
        return tuple(m.config.entity for m in self.models)

    @property
    def train_info(self) -> dict[str, Any]:
        return {m.config.entity: m.train_info for m in self.models}

    def features(self, frame: pd.DataFrame) -> pd.DataFrame:
        return pd.concat([m.features(frame) for m in self.models], axis=1)

    def features_for_last(self, frame: pd.DataFrame) -> np.ndarray:
        return np.concatenate([m.features_for_last(frame) for m in self.models])

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for m in self.models:
            m.save(directory / m.config.entity)
        (directory / "sequences.json").write_text(
            json.dumps({"entities": [m.config.entity for m in self.models]}), "utf-8"
        )


def load_sequence_model(directory: Path) -> SequenceModel | SequenceSet:
    """A bundle's sequence features: one model, or a `SequenceSet` of several."""
    index = directory / "sequences.json"
    if index.is_file():
        entities = json.loads(index.read_text("utf-8"))["entities"]
        return SequenceSet([_load_one(directory / e) for e in entities])
    return _load_one(directory)


def _load_one(directory: Path) -> SequenceModel:
    meta = json.loads((directory / "sequence.json").read_text("utf-8"))
    model = load(directory / "record_model", device="cpu", dtype="float32")
    return SequenceModel(
        model=model,
        config=SequenceConfig(**{**_LEGACY_CONFIG, **meta["config"]}),
        pca_mean=np.asarray(meta["pca_mean"], dtype=np.float32),
        pca_components=np.asarray(meta["pca_components"], dtype=np.float32).reshape(
            -1, len(meta["pca_mean"])
        ),
        train_info=meta["train_info"],
    )


def fit_sequence_model(
    frame: pd.DataFrame,
    config: SequenceConfig = SequenceConfig(),
    progress: Progress = NULL_PROGRESS,
) -> SequenceModel:
    """Pretrain a record model on ``frame``'s sequences (``config.entity``) and fit the PCA;
    ``progress`` counts the pretraining steps (the caller names the stage)."""
    schema = RecordSchema(tuple(_fields(frame, config.entity)))
    spec = dataclasses.replace(
        PRESETS["tiny"], hidden_size=config.hidden_size, num_layers=config.num_layers
    )
    model = build_model(spec, schema=schema, seed=config.seed)
    seqs, _ = tokenise(frame, schema, config.entity)
    seqs_train: Sequence[np.ndarray] = [s for s in seqs if len(s) >= 2]
    result = train_records(
        model,
        seqs_train,
        TrainConfig(
            steps=config.steps,
            batch_size=config.batch_size,
            seq_len=config.seq_len,
            lr=config.lr,
            warmup_steps=max(1, config.steps // 10),
            eval_every=max(1, config.steps),
            seed=config.seed,
        ),
        progress=lambda _step: progress.advance(1),
    )
    rng = np.random.default_rng(config.seed)
    pick = rng.choice(len(seqs), min(len(seqs), 300), replace=False)
    rf = extract_record_features(
        model, [seqs[i] for i in pick], FeatureOptions(max_length=config.max_length)
    )
    mean = rf.hidden.mean(axis=0)
    _, _, vt = np.linalg.svd(rf.hidden - mean, full_matrices=False)
    k = min(config.pca_dims, vt.shape[0])
    # Sign convention: largest-magnitude loading positive, so refits give the same axes.
    comps = vt[:k] * np.sign(vt[:k][np.arange(k), np.abs(vt[:k]).argmax(axis=1)])[:, None]
    info = {
        "steps": int(result.steps),
        "initial_eval_loss": float(result.initial_eval_loss),
        "eval_loss": float(result.eval_loss),
        "seconds": float(result.seconds),
    }
    return SequenceModel(model, config, mean.astype(np.float32), comps.astype(np.float32), info)
