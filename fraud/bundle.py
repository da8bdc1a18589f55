"""Versioned fraud model bundles: a directory of JSON and skops files, never pickle.

Layout::

    bundle.json        version id, feature schema, thresholds, reasons, data range, metrics
    booster.skops      HistGradientBoostingClassifier
    calibrator.skops   LogisticRegression (Platt) or IsotonicRegression

skops files load only with the explicit trusted-type list below; anything else is refused.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import skops.io as sio
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from fraud.errors import FraudError
from fraud.features import FeatureSchema
from fraud.model import ReasonModel, TrainedClassifier
from fraud.routing import Thresholds

FORMAT_VERSION = 1
DEFAULT_BUNDLE = Path(__file__).parent / "assets" / "default_bundle"

# Types a bundle's skops files may contain; skops refuses to build anything else.
TRUSTED_TYPES = (
    "sklearn._loss.link.Interval",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.isotonic.IsotonicRegression",
    "sklearn.linear_model._logistic.LogisticRegression",
    "numpy.dtype",
    "builtins.slice",
    "sklearn.ensemble._hist_gradient_boosting.common.PREDICTOR_RECORD_DTYPE",
)


class BundleError(FraudError):
    """A bundle directory is missing, incomplete, of another format, or untrusted."""


@dataclass
class Bundle:
    """A trained fraud model: features, classifier, thresholds and provenance."""

    schema: FeatureSchema
    classifier: TrainedClassifier
    thresholds: Thresholds
    metadata: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    sequence: Any = None  # fraud.sequence.SequenceModel / SequenceSet with sequence features

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Classifier columns: behavioural features, then sequence features if any."""
        seq = tuple(self.sequence.names) if self.sequence is not None else ()
        return (*self.schema.names, *seq)

    @property
    def version(self) -> str:
        return str(self.metadata.get("version", "unversioned"))

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write the bundle atomically (temp dir, then rename over ``directory``)."""
        return save_bundle(self, directory)


def _manifest(bundle: Bundle) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "version": bundle.version,
        "schema": bundle.schema.to_json(),
        "thresholds": bundle.thresholds.to_json(),
        "reasons": bundle.classifier.reasons.to_json(),
        "sequence": bundle.sequence is not None,
        "metadata": bundle.metadata,
    }


def content_version(booster_bytes: bytes, calibrator_bytes: bytes, manifest: dict) -> str:
    """A version id from the bundle's content: same training, same id."""
    h = hashlib.sha256()
    for blob in (booster_bytes, calibrator_bytes):
        # Hash the arrays' contents, not the zip: skops' archive carries write times and
        # names members by object id, both different on every save.
        with zipfile.ZipFile(io.BytesIO(blob)) as zf:
            digests = sorted(
                hashlib.sha256(zf.read(n)).hexdigest() for n in zf.namelist() if n.endswith(".npy")
            )
        h.update("".join(digests).encode())
    body = {k: v for k, v in manifest.items() if k not in ("version", "metadata")}
    h.update(json.dumps(body, sort_keys=True).encode())
    return f"fraud-{h.hexdigest()[:12]}"


def ensure_version(bundle: Bundle) -> str:
    """The bundle's content version, computed now if it has none (an unsaved bundle)."""
    if "version" not in bundle.metadata:
        booster = sio.dumps(bundle.classifier.booster)
        calibrator = sio.dumps(bundle.classifier.calibrator)
        bundle.metadata["version"] = content_version(booster, calibrator, _manifest(bundle))
    return bundle.version


def save_bundle(bundle: Bundle, directory: str | os.PathLike[str]) -> Path:
    """Save ``bundle`` into ``directory``, replacing any previous bundle there atomically."""
    target = Path(directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    booster = sio.dumps(bundle.classifier.booster)
    calibrator = sio.dumps(bundle.classifier.calibrator)
    if "version" not in bundle.metadata:
        bundle.metadata["version"] = content_version(booster, calibrator, _manifest(bundle))
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; a bundle is meant to be shared
    try:
        (tmp / "booster.skops").write_bytes(booster)
        (tmp / "calibrator.skops").write_bytes(calibrator)
        if bundle.sequence is not None:
            bundle.sequence.save(tmp / "sequence")
        # Compact: the schema's label tables hold tens of thousands of entries.
        text = json.dumps(_manifest(bundle), separators=(",", ":"))
        (tmp / "bundle.json").write_text(text, "utf-8")
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    bundle.path = target
    return target


def _load_skops(path: Path, expected: tuple[type, ...]) -> Any:
    if not path.is_file():
        raise BundleError(f"{path}: missing; the bundle is incomplete (retrain or re-copy it)")
    data = path.read_bytes()
    untrusted = [t for t in sio.get_untrusted_types(data=data) if t not in TRUSTED_TYPES]
    if untrusted:
        raise BundleError(f"{path}: refuses to load untrusted types {', '.join(untrusted)}")
    obj = sio.loads(data, trusted=list(TRUSTED_TYPES))
    # skops trusts many sklearn/numpy types by default; the role decides what is acceptable.
    if not isinstance(obj, expected):
        raise BundleError(
            f"{path}: holds a {type(obj).__name__}, expected "
            f"{' or '.join(t.__name__ for t in expected)}"
        )
    return obj


def load_bundle(directory: str | os.PathLike[str]) -> Bundle:
    """Load a bundle directory (JSON + skops with the trusted-type list; no pickle).

    Raises:
        BundleError: the directory or one of its files is missing, malformed or untrusted.
    """
    root = Path(directory)
    manifest_path = root / "bundle.json"
    if not manifest_path.is_file():
        raise BundleError(
            f"{root}: not a fraud bundle (no bundle.json); train one with `train-fraud`"
        )
    try:
        manifest = json.loads(manifest_path.read_text("utf-8"))
    except ValueError as exc:
        raise BundleError(f"{manifest_path}: not valid JSON: {exc}") from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BundleError(
            f"{manifest_path}: format_version {manifest.get('format_version')!r}, "
            f"this version reads {FORMAT_VERSION}; retrain the bundle"
        )
    try:
        schema = FeatureSchema.from_json(manifest["schema"])
        reasons = ReasonModel.from_json(manifest["reasons"])
        thresholds = Thresholds(**manifest["thresholds"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"{manifest_path}: malformed field: {exc}") from exc
    classifier = TrainedClassifier(
        booster=_load_skops(root / "booster.skops", (HistGradientBoostingClassifier,)),
        calibrator=_load_skops(root / "calibrator.skops", (LogisticRegression, IsotonicRegression)),
        reasons=reasons,
    )
    metadata = dict(manifest.get("metadata", {}))
    metadata["version"] = manifest["version"]
    sequence = None
    if manifest.get("sequence"):
        # Imported only here: it loads torch through core_model.
        from fraud.sequence import load_sequence_model

        sequence = load_sequence_model(root / "sequence")
    return Bundle(schema, classifier, thresholds, metadata, path=root, sequence=sequence)


def default_bundle_path(home: str | os.PathLike[str] | None = None) -> Path:
    """``<home>/fraud-bundle`` when one was trained there, else the shipped default bundle."""
    if home is not None:
        candidate = Path(home).expanduser() / "fraud-bundle"
        if (candidate / "bundle.json").is_file():
            return candidate
    return DEFAULT_BUNDLE
