"""Bundles: JSON + skops with trusted types only, atomic save, the shipped default."""

import json
from collections import Counter

import numpy as np
import pytest
import skops.io as sio
from sklearn.preprocessing import StandardScaler

from fraud.bundle import DEFAULT_BUNDLE, BundleError, load_bundle
from fraud.features import compute_features
from fraud.pipeline import score_frame
from fraud.training import TrainFraudOptions, train_fraud
from tests.fraud.txn_frames import make_frame


@pytest.fixture(scope="module")
def trained():
    frame = make_frame(n=6000, n_customers=150, days=50, seed=4)
    return frame, train_fraud(frame, TrainFraudOptions(seed=0))


def test_round_trip_same_scores_and_version(trained, tmp_path):
    frame, bundle = trained
    path = bundle.save(tmp_path / "b")
    loaded = load_bundle(path)
    assert loaded.version == bundle.version and loaded.version.startswith("fraud-")
    x = compute_features(frame, loaded.schema).to_numpy(float)
    np.testing.assert_array_equal(loaded.classifier.score(x), bundle.classifier.score(x))
    assert loaded.thresholds == bundle.thresholds
    files = sorted(p.name for p in path.iterdir())
    assert files == ["booster.skops", "bundle.json", "calibrator.skops"]
    assert not any(p.suffix in (".pkl", ".pickle", ".joblib") for p in path.rglob("*"))
    # Saving again over it replaces it whole.
    bundle.save(tmp_path / "b")
    assert load_bundle(tmp_path / "b").version == bundle.version


def test_untrusted_type_refused(trained, tmp_path):
    _, bundle = trained
    path = bundle.save(tmp_path / "b")
    sio.dump({"x": Counter(a=1)}, path / "calibrator.skops")
    with pytest.raises(BundleError, match="untrusted types collections.Counter"):
        load_bundle(path)
    # A type skops trusts by default is still refused in the wrong role.
    sio.dump(StandardScaler(), path / "calibrator.skops")
    with pytest.raises(BundleError, match="StandardScaler"):
        load_bundle(path)


def test_bad_bundles_name_the_problem(trained, tmp_path):
    with pytest.raises(BundleError, match="no bundle.json"):
        load_bundle(tmp_path)
    _, bundle = trained
    path = bundle.save(tmp_path / "b")
    manifest = json.loads((path / "bundle.json").read_text())
    manifest["format_version"] = 99
    (path / "bundle.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="format_version"):
        load_bundle(path)


def test_shipped_default_bundle_loads_and_scores():
    from fraud.simulate import SimulationConfig, simulate

    bundle = load_bundle(DEFAULT_BUNDLE)
    # Trained as train-fraud trains: entity features, settings chosen on a validation block,
    # each record model kept only where it raised validation AP (all candidates recorded).
    assert "terminal_id_risk_7d" in bundle.feature_names
    choice = bundle.metadata["choice"]
    assert len(choice["candidates"]) >= 5
    kept = tuple(choice["sequence"])
    assert (bundle.sequence.entities if bundle.sequence is not None else ()) == kept
    frame = simulate(SimulationConfig(n_transactions=3000, n_customers=100, days=20, seed=5))
    result = score_frame(frame, bundle)
    scores = result.frame["score"].to_numpy()
    assert np.isfinite(scores).all() and ((scores >= 0) & (scores <= 1)).all()
    assert set(result.frame["band"]) <= {"approve", "review", "decline"}
    assert (result.frame["model_version"] == bundle.version).all()


@pytest.mark.slow
def test_shipped_bundle_reproduces_its_recorded_metrics_on_its_rebuild_data():
    """Recount the calibration-block metrics the bundle records, on the data it says it was
    built from: a broken booster, calibrator, feature or sequence model moves them. Every
    expected figure is read from the bundle, so a rebuild with new features keeps this valid."""
    import ast
    from dataclasses import replace

    import pandas as pd
    from sklearn.metrics import average_precision_score, roc_auc_score

    from core_model.runtime import set_threads
    from fraud.simulate import SimulationConfig, simulate

    set_threads(1)  # the rebuild runs on one torch thread too: same sums
    bundle = load_bundle(DEFAULT_BUNDLE)
    meta = bundle.metadata
    recipe, _, params = meta["trained_on"].partition(" ")
    assert recipe == "fraud.simulate", meta["trained_on"]
    frame = simulate(SimulationConfig(**ast.literal_eval(params)))
    cutoff = pd.Timestamp(meta["data_until"])
    data = frame[frame["timestamp"] <= cutoff].copy()
    assert len(data) == meta["rows"]
    # What training saw: labels known by the cutoff (label_time, else the label delay).
    delay = pd.Timedelta(days=meta["label_delay_days"])
    known = data["label_time"].fillna(data["timestamp"] + delay)
    data.loc[known > cutoff, "is_fraud"] = pd.NA
    labelled = data["is_fraud"].notna().to_numpy()
    assert labelled.sum() == meta["labelled_rows"]
    # Features as at training time: risk counted point in time from the frame's own labels,
    # not from the tables the bundle carries for scoring new data (they hold every label up
    # to the cutoff, the calibration block's own included).
    schema = replace(bundle.schema, risk={}, global_risk=(0, 0), cutoff_ms=None)
    x = compute_features(data, schema).to_numpy(dtype=np.float64)
    if bundle.sequence is not None:
        x = np.hstack([x, bundle.sequence.features(data).to_numpy(dtype=np.float64)])
    assert x.shape[1] == len(bundle.feature_names)
    first, last = map(pd.Timestamp, meta["blocks"]["calibration"])
    ts = data["timestamp"]
    block = labelled & (ts >= first).to_numpy() & (ts <= last).to_numpy()
    y = data["is_fraud"].to_numpy()[block].astype(np.int64)
    scores = bundle.classifier.score(x[block])
    # The shipped classifier's figures (bundles from before the final fit on every block
    # record only the held-out ones, which were then the same classifier's).
    recorded = meta.get("metrics_calibration_block_final", meta["metrics_calibration_block"])
    assert y.mean() == pytest.approx(recorded["fraud_rate"], abs=1e-9)
    assert roc_auc_score(y, scores) == pytest.approx(recorded["auc_roc"], abs=0.002)
    assert average_precision_score(y, scores) == pytest.approx(
        recorded["average_precision"], abs=0.01
    )


def test_same_training_same_version(tmp_path):
    frame = make_frame(n=5000, n_customers=120, days=50, seed=14)
    a = train_fraud(frame, TrainFraudOptions(seed=2)).save(tmp_path / "a")
    b = train_fraud(frame, TrainFraudOptions(seed=2)).save(tmp_path / "b")
    c = train_fraud(frame, TrainFraudOptions(seed=2, label_delay_days=3)).save(tmp_path / "c")
    assert load_bundle(a).version == load_bundle(b).version != load_bundle(c).version


def test_shipped_bundle_version_is_its_content_version_under_todays_code():
    """A rebuild gives the shipped id only if today's code writes the same content: a schema
    field added to every bundle's JSON (as derived columns once were) would change every id."""
    import skops.io as sio

    from fraud.bundle import DEFAULT_BUNDLE, _manifest, content_version, load_bundle

    bundle = load_bundle(DEFAULT_BUNDLE)
    booster = sio.dumps(bundle.classifier.booster)
    calibrator = sio.dumps(bundle.classifier.calibrator)
    assert content_version(booster, calibrator, _manifest(bundle)) == bundle.version
