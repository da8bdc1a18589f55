"""The fraud classifier: regularised gradient boosting, a calibrator, and per-row reasons.

The booster is scikit-learn's HistGradientBoostingClassifier with the settings FIELD_NOTES
measured to beat the defaults (learning rate 0.05, l2 1.0, min_samples_leaf 100) and early
stopping on a *later* time block passed as ``X_val`` (never a random split, which leaks the
future). Calibration is Platt scaling (or isotonic) fitted on a still later block.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from fraud.errors import FraudError


class TrainingDataError(FraudError):
    """The training data cannot train a classifier (too few rows or no frauds)."""


@dataclass(frozen=True)
class ClassifierConfig:
    """Booster and calibration settings (defaults from FIELD_NOTES)."""

    learning_rate: float = 0.05
    l2_regularization: float = 1.0
    min_samples_leaf: int = 100
    max_iter: int = 400
    max_leaf_nodes: int = 31
    n_iter_no_change: int = 20
    calibration: str = "sigmoid"  # or "isotonic"
    seed: int = 0


def fit_classifier(
    x_fit: np.ndarray,
    y_fit: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    config: ClassifierConfig = ClassifierConfig(),
) -> HistGradientBoostingClassifier:
    """Fit the booster on an earlier block, early-stopping on a later one.

    Raises:
        TrainingDataError: a block has no fraud or no legitimate rows.
    """
    for name, y in (("fit", y_fit), ("early-stopping", y_val)):
        if len(y) == 0 or y.min() == y.max():
            raise TrainingDataError(
                f"the {name} time block has {int(np.sum(y))} frauds in {len(y)} rows; "
                "training needs both classes in every block (use more days or an earlier --until)"
            )
    clf = HistGradientBoostingClassifier(
        learning_rate=config.learning_rate,
        l2_regularization=config.l2_regularization,
        min_samples_leaf=config.min_samples_leaf,
        max_iter=config.max_iter,
        max_leaf_nodes=config.max_leaf_nodes,
        early_stopping=True,
        n_iter_no_change=config.n_iter_no_change,
        scoring="loss",
        random_state=config.seed,
    )
    clf.fit(x_fit, y_fit, X_val=x_val, y_val=y_val)
    return clf


def refit_classifier(
    x: np.ndarray, y: np.ndarray, n_iter: int, config: ClassifierConfig = ClassifierConfig()
) -> HistGradientBoostingClassifier:
    """Fit the booster on more rows (the fit and early-stopping blocks together) for the
    number of iterations early stopping chose, so the final model learns from the latest
    labelled weeks too instead of holding them out."""
    clf = HistGradientBoostingClassifier(
        learning_rate=config.learning_rate,
        l2_regularization=config.l2_regularization,
        min_samples_leaf=config.min_samples_leaf,
        max_iter=max(1, int(n_iter)),
        max_leaf_nodes=config.max_leaf_nodes,
        early_stopping=False,
        random_state=config.seed,
    )
    clf.fit(x, y)
    return clf


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def fit_calibrator(
    raw: np.ndarray, y: np.ndarray, method: str = "sigmoid"
) -> LogisticRegression | IsotonicRegression:
    """Map raw booster probabilities to calibrated ones on a later block."""
    if method == "isotonic":
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        iso.fit(raw, y)
        return iso
    if method != "sigmoid":
        raise FraudError(f"calibration must be 'sigmoid' or 'isotonic', not {method!r}")
    lr = LogisticRegression(C=1e4)
    lr.fit(_logit(raw).reshape(-1, 1), y)
    return lr


def calibrated_scores(
    clf: HistGradientBoostingClassifier,
    calibrator: LogisticRegression | IsotonicRegression,
    x: np.ndarray,
) -> np.ndarray:
    """Calibrated fraud probability per row."""
    raw = clf.predict_proba(x)[:, 1]
    if isinstance(calibrator, IsotonicRegression):
        return calibrator.predict(raw)
    return calibrator.predict_proba(_logit(raw).reshape(-1, 1))[:, 1]


@dataclass(frozen=True)
class ReasonModel:
    """Explains a score by the features that deviate most, in the risky direction.

    A row's contribution for feature j is ``importance_j * max(0, direction_j * z_j)`` with
    ``z_j = (x_j - center_j) / scale_j`` (robust centre/scale from legitimate training rows),
    ``direction_j`` the sign of the feature's rank correlation with the score, and
    ``importance_j`` its permutation importance. A fast, SHAP-like ordering, not exact SHAP.
    """

    names: tuple[str, ...]
    center: tuple[float, ...]
    scale: tuple[float, ...]
    direction: tuple[float, ...]
    importance: tuple[float, ...]
    top_k: int = 3

    def to_json(self) -> dict[str, Any]:
        return {
            "names": list(self.names),
            "center": list(self.center),
            "scale": list(self.scale),
            "direction": list(self.direction),
            "importance": list(self.importance),
            "top_k": self.top_k,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReasonModel:
        return cls(
            names=tuple(data["names"]),
            center=tuple(float(v) for v in data["center"]),
            scale=tuple(float(v) for v in data["scale"]),
            direction=tuple(float(v) for v in data["direction"]),
            importance=tuple(float(v) for v in data["importance"]),
            top_k=int(data.get("top_k", 3)),
        )

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """[rows, features] non-negative contributions; missing values contribute 0."""
        z = (x - np.asarray(self.center)) / np.asarray(self.scale)
        c = np.asarray(self.importance) * np.maximum(0.0, np.asarray(self.direction) * z)
        return np.nan_to_num(c, nan=0.0)

    def explain(self, x: np.ndarray) -> list[list[str]]:
        """Top reasons per row as readable strings."""
        contrib = self.contributions(x)
        k = min(self.top_k, contrib.shape[1])
        top = np.argsort(-contrib, axis=1, kind="stable")[:, :k]
        # Gathered once as Python lists: indexing numpy scalars per reason cost as much as
        # formatting the reasons.
        rows = np.arange(len(x))[:, None]
        values = x[rows, top].tolist()
        shown = (contrib[rows, top] > 0).tolist()
        formats = [_formatter(n) for n in self.names]
        return [
            [formats[j](float(v)) for j, v, ok in zip(js, vs, oks, strict=True) if ok]
            for js, vs, oks in zip(top.tolist(), values, shown, strict=True)
        ]


def fit_reason_model(
    clf: HistGradientBoostingClassifier,
    x: np.ndarray,
    y: np.ndarray,
    names: Sequence[str],
    seed: int = 0,
    max_rows: int = 20_000,
) -> ReasonModel:
    """Fit centres, scales, directions and permutation importances on a held-out block."""
    rng = np.random.default_rng(seed)
    if len(x) > max_rows:
        keep = rng.choice(len(x), max_rows, replace=False)
        x, y = x[keep], y[keep]
    legit = x[y == 0] if (y == 0).any() else x
    center = np.nanmedian(legit, axis=0)
    q75, q25 = np.nanpercentile(legit, 75, axis=0), np.nanpercentile(legit, 25, axis=0)
    std = np.nanstd(legit, axis=0)
    scale = np.where(q75 - q25 > 0, q75 - q25, np.where(std > 0, std, 1.0))
    center = np.nan_to_num(center, nan=0.0)
    scale = np.nan_to_num(scale, nan=1.0)
    base = clf.predict_proba(x)[:, 1]
    base_ll = _log_loss(y, base)
    importance = np.zeros(x.shape[1])
    direction = np.zeros(x.shape[1])
    rank_score = _ranks(base)
    for j in range(x.shape[1]):
        col = x[:, j].copy()
        perm = x.copy()
        perm[:, j] = col[rng.permutation(len(col))]
        importance[j] = max(0.0, _log_loss(y, clf.predict_proba(perm)[:, 1]) - base_ll)
        ok = np.isfinite(col)
        if ok.sum() > 2 and np.nanstd(col) > 0:
            direction[j] = np.sign(np.corrcoef(_ranks(col[ok]), rank_score[ok])[0, 1])
    return ReasonModel(
        names=tuple(names),
        center=tuple(float(v) for v in center),
        scale=tuple(float(v) for v in scale),
        direction=tuple(float(v) for v in np.nan_to_num(direction)),
        importance=tuple(float(v) for v in importance),
    )


def _ranks(v: np.ndarray) -> np.ndarray:
    order = np.argsort(v, kind="stable")
    r = np.empty(len(v))
    r[order] = np.arange(len(v))
    return r


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


_TEMPLATES: dict[str, str] = {
    "amount": "amount {v:,.2f}",
    "log_amount": "amount {e:,.2f}",
    "hour": "unusual hour ({v:.0f}h UTC)",
    "weekday": "unusual weekday ({v:.0f})",
    "n_prev": "{v:.0f} earlier transactions on this card",
    "secs_since_prev": "{v:,.0f} s since the previous transaction",
    "amount_z_30d": "amount {v:+.1f} sd from the customer's 30-day norm",
    "amount_ratio_mean_30d": "amount {v:.1f}x the customer's 30-day mean",
    "amount_ratio_median": "amount {v:.1f}x the median of the customer's recent amounts",
    "amount_rank_recent": "amount above {p:.0%} of the customer's recent amounts",
    "hour_habit": "unusual hour for this customer ({p:.0%} of earlier payments near it)",
    "new_merchant_id": "first transaction at this merchant",
    "new_terminal_id": "first transaction at this terminal",
    "new_country": "first transaction in this country",
    "new_device_id": "first transaction from this device",
    "dist_home_km": "{v:,.0f} km from the customer's usual location",
    "dist_prev_km": "{v:,.0f} km from the previous transaction",
    "speed_kmh": "implied travel speed {v:,.0f} km/h since the previous transaction",
    "channel_code": "channel",
    "merchant_id_risk": "merchant fraud rate {p:.1%}",
    "terminal_id_risk": "terminal fraud rate {p:.1%}",
    "mcc_risk": "merchant category fraud rate {p:.1%}",
    "seq_surprisal": "unusual for this customer's sequence (surprisal {v:.1f})",
    "seq_router_entropy": "atypical sequence routing (entropy {v:.2f})",
}


_SEQ_FIELDS: dict[str, str] = {
    "amount_bucket": "amount",
    "gap_bucket": "time since the previous transaction",
    "mcc": "merchant category",
    "new_merchant": "merchant novelty",
    "country_is_home": "country",
}


_ENTITY_WORDS: dict[str, str] = {
    "card_token": "card",
    "terminal_id": "terminal",
    "merchant_id": "merchant",
    "device_id": "device",
    "mcc": "merchant category",
    "country": "country",
}
_ENTITY_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("_risk_", "{e} fraud rate {p:.1%} among labels of the last {w}"),
    ("_count_", "{v:.0f} transactions at this {e} in the last {w}"),
    ("_amount_mean_", "{e}'s mean amount {v:,.2f} over the last {w}"),
)


_STATE_TEMPLATES: dict[str, str] = {
    "_fraud_age": "latest known fraud at this {e} {v:.1f} days ago",
    "_first_fraud_age": "frauds known at this {e} for {v:.1f} days",
    "_labels_since_fraud": "{v:.0f} legitimate labels at this {e} since its latest fraud",
    "_risk_since_fraud": "{p:.0%} of this {e}'s labels fraud since its first known fraud",
}


def _entity_formatter(name: str) -> Callable[[float], str] | None:
    for suffix, template in _STATE_TEMPLATES.items():  # fraud.label_state
        for entity, word in (*_ENTITY_WORDS.items(), ("customer_id", "card")):
            if name == f"{entity}{suffix}":
                return lambda v: template.format(e=word, v=v, p=v)
    for entity, word in _ENTITY_WORDS.items():
        if not name.startswith(f"{entity}_"):
            continue
        rest = name[len(entity) :]
        if rest == "_risk":
            return lambda v: f"{word} fraud rate {v:.1%}"
        if rest == "_amount_ratio":
            return lambda v: f"amount {v:.1f}x this {word}'s recent mean"
        for marker, template in _ENTITY_TEMPLATES:
            if rest.startswith(marker):
                window = rest[len(marker) :]
                return lambda v: template.format(e=word, w=window, v=v, p=v)
    return None


@lru_cache(maxsize=4096)
def _formatter(name: str) -> Callable[[float], str]:
    """How feature ``name``'s value reads, worked out once per name: scoring a file explains
    every row, and matching the name against every pattern per reason cost more than the
    booster."""
    entity = _entity_formatter(name)
    if entity is not None:
        return entity
    if name.startswith("amount_mean_"):
        return lambda v: f"mean amount {v:,.2f} over the customer's last {name[12:]}"
    if name.startswith("num_") or name.startswith("cat_"):
        return lambda v: f"{name[4:]} = {v:.3g}"
    if name.startswith("count_"):
        return lambda v: f"{v:.0f} earlier transactions in the last {name[6:]}"
    if name.startswith("amount_sum_"):
        return lambda v: f"{v:,.2f} spent in the last {name[11:]}"
    if name.startswith("seq_pc"):
        return lambda v: f"unusual transaction sequence pattern ({name[4:]})"
    if name.startswith("seq_surprisal_"):
        field = _SEQ_FIELDS.get(name[14:], name[14:])
        return lambda v: f"unusual {field} for this customer's sequence (surprisal {v:.1f})"
    template = _TEMPLATES.get(name)
    if template is None:
        return lambda v: f"{name} = {v:.3g}"
    if "{e" in template:
        return lambda v: template.format(v=v, e=float(np.expm1(min(v, 700.0))), p=v)
    return lambda v: template.format(v=v, e=0.0, p=v)


def describe(name: str, value: float) -> str:
    """A readable reason for feature ``name`` having ``value``."""
    return _formatter(name)(value)


@dataclass(frozen=True)
class TrainedClassifier:
    """Booster, calibrator and reason model, the parts of a bundle that score rows."""

    booster: HistGradientBoostingClassifier
    calibrator: LogisticRegression | IsotonicRegression
    reasons: ReasonModel
    extra: Mapping[str, Any] = field(default_factory=dict)

    def score(self, x: np.ndarray) -> np.ndarray:
        return calibrated_scores(self.booster, self.calibrator, x)
