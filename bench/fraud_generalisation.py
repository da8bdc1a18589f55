"""Fraud generalisation (issue 16): the suite against its reference baseline on data the design
never saw.

    OMP_NUM_THREADS=1 python bench/fraud_generalisation.py [--rows 60000] [--sets terminal,paysim]
        [--seed N]  (a design seed < 1000 instead of the report seeds, for design runs)

For each data set it writes a transaction file, trains the suite exactly as a user would
(``moesuite train-fraud FILE --until DATE``, the CLI's defaults: behavioural + MoE sequence
features) and evaluates it (``moesuite evaluate-fraud FILE --from DATE --no-ablation``), which
fits the textbook reference baseline (``fraud/baseline.py``) on the same history in the same
run. It prints, per data set, suite vs baseline (AUC, AP, recall at 1% FPR), the same metrics of
ranking by the amount alone (a sanity floor), and the commands.

Data sets:

- ``terminal``, ``merchant``, ``device``: the simulator's other regimes (``fraud/regimes.py``)
  at REPORT seeds (`REPORT_SEEDS`), never used to design anything. DESIGN seeds are every seed
  below 1000: the simulator's default 0, the shipped bundle's 7, ``bench/fraud.py``'s seeds and
  the tests' small seeds; the suite's features and settings are chosen on those (and on the
  default regime only). 70 simulated days at 0.8% fraud: trained to day 45, evaluated from day
  52 (the 7-day gap is the label delay, as in the issue). The ground-truth ``fraud_scenario``
  column is dropped from the file.
- ``merchant-raw``: the ``merchant`` regime's file (same seed, same transactions and labels)
  rewritten in the raw column layout of the Sparkov-style public generator behind the issue's
  second private file: ``trans_date_trans_time, cc_num`` (a 16-digit card number), ``merchant,
  category, amt, first, last, gender, street, city, state, zip, lat, long`` (the customer's
  home), ``city_pop, job, dob`` (a date of birth instead of an age), ``trans_num, unix_time,
  merch_lat, merch_long, is_fraud``; no ``label_time`` (labels count after the 7-day delay).
  Trained and evaluated with nothing but ``--column-map`` (`RAW_COLUMN_MAP`).
- ``paysim``: ``../shared/data/paysim/`` (PaySim mobile-money transfers, another simulator;
  read its README). Its file already uses canonical names (``customer_id`` is the origin
  account, ``merchant_id`` the destination account); ``type`` and the balances pass through
  ingest as extra columns. Subset (3M rows do not train in minutes on 2 shared cores): every
  transaction from ``--paysim-from`` (default 2025-01-14, about 400k rows), trained to the end
  of 2025-01-16, evaluated from 2025-01-17 (about 460 frauds). It has no ``label_time``; a
  drained account is noticed quickly, so labels count after 1 day (``--label-delay-days 1``).
  The balance columns leak the label (the README: one bookkeeping rule catches every fraud),
  so they are dropped; ``--paysim-balances`` adds a second run that keeps them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fraud.simulate import SimulationConfig, simulate  # noqa: E402

REPORT_SEEDS = {"terminal": 160_001, "merchant": 160_002, "device": 160_003}
REPORT_SEEDS["merchant-raw"] = REPORT_SEEDS["merchant"]
# What a user types for a Sparkov-shaped file (``amt`` and ``is_fraud`` are recognised as they
# are). ``lat`` is a canonical name, so ingest takes it and asks for its pair: ``long=lon``.
RAW_COLUMN_MAP = (
    "trans_date_trans_time=timestamp,cc_num=customer_id,trans_num=transaction_id,"
    "merchant=merchant_id,long=lon"
)
RAW_COLUMNS = [
    "trans_date_trans_time", "cc_num", "merchant", "category", "amt", "first", "last", "gender",
    "street", "city", "state", "zip", "lat", "long", "city_pop", "job", "dob", "trans_num",
    "unix_time", "merch_lat", "merch_long", "is_fraud",
]  # fmt: skip
_SYLLABLES = [
    "an", "ber", "cal", "dor", "el", "fen", "gar", "hal", "is", "jo", "kel", "lin", "mar", "nor",
    "ol", "per", "quin", "ros", "sel", "tam", "ul", "ver", "wil", "yar", "zen",
]  # fmt: skip
DESIGN_SEEDS = "every seed below 1000"
# ../shared beside the main checkout (a worktree sits one level deeper).
PAYSIM = next(
    (
        p / "shared" / "data" / "paysim" / "paysim_transactions.csv.gz"
        for p in (ROOT.parent, ROOT.parent.parent)
        if (p / "shared" / "data" / "paysim").is_dir()
    ),
    ROOT.parent / "shared" / "data" / "paysim" / "paysim_transactions.csv.gz",
)
BALANCES = ["oldbalanceOrg", "newbalanceOrig", "oldbalanceDest", "newbalanceDest"]
START = pd.Timestamp("2026-01-01", tz="UTC")


def _regime_file(regime: str, rows: int, out: Path, seed: int | None = None) -> dict:
    raw = regime == "merchant-raw"
    regime = "merchant" if raw else regime
    config = SimulationConfig(
        n_transactions=rows,
        n_customers=max(200, rows // 20),
        n_merchants=max(50, rows // 125),
        days=70,
        fraud_rate_target=0.008,  # as the two third-party files (0.83%, 0.69%)
        seed=REPORT_SEEDS[regime] if seed is None else seed,
        regime=regime,
    )
    frame = simulate(config).drop(columns=["fraud_scenario"])
    if raw:
        frame = raw_layout(frame, config.seed)
    frame.to_csv(out, index=False)
    return {
        "name": f"{regime}{'-raw' if raw else ''} (seed {config.seed})",
        "file": out,
        "until": (START + pd.Timedelta(days=45)).date().isoformat(),
        "from": (START + pd.Timedelta(days=52)).date().isoformat(),
        "train_args": ["--column-map", RAW_COLUMN_MAP] if raw else [],
        "eval_args": ["--column-map", RAW_COLUMN_MAP] if raw else [],
        "time_amount": ("trans_date_trans_time", "amt") if raw else ("timestamp", "amount"),
        "rows": len(frame),
        "source": f"simulate-transactions --regime {regime} --rows {rows} --days 70 "
        f"--fraud-rate 0.008 --seed {config.seed} (fraud_scenario column dropped"
        + ("; rewritten in the Sparkov-style raw layout)" if raw else ")"),
    }


def _words(rng: np.random.Generator, n: int, parts: int) -> np.ndarray:
    """``n`` made-up capitalised words of ``parts`` syllables (names, towns, jobs)."""
    picks = rng.choice(_SYLLABLES, (n, parts))
    return np.char.capitalize(np.array(["".join(p) for p in picks]))


def _card_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct 16-digit Luhn-valid card numbers (as integers, as the public file has)."""
    body = rng.integers(0, 10, (n * 2, 15))
    body[:, 0] = 4
    body = np.unique(body, axis=0)[rng.permutation(len(np.unique(body, axis=0)))][:n]
    doubled = body[:, ::-2] * 2  # from the right of the 15 digits, every second digit doubled
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    check = (10 - (doubled.sum(axis=1) + body[:, -2::-2].sum(axis=1)) % 10) % 10
    digits = np.hstack([body, check[:, None]])
    return (digits * 10 ** np.arange(15, -1, -1, dtype=np.int64)).sum(axis=1)


def raw_layout(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The ``merchant`` regime's rows in the Sparkov-style raw column layout (see module doc)."""
    rng = np.random.default_rng([seed, 7])
    cust, code = np.unique(frame["customer_id"].to_numpy(str), return_inverse=True)
    n = len(cust)
    first, last = _words(rng, 300, 2)[rng.integers(0, 300, n)], _words(rng, 800, 3)
    last = last[rng.integers(0, 800, n)]
    street = [f"{k} {w} {s}" for k, w, s in zip(
        rng.integers(1, 9999, n), _words(rng, n, 2), rng.choice(["St", "Ave", "Rd", "Way"], n),
        strict=True)]  # fmt: skip
    home_lat = frame.groupby(code)["home_lat"].first().to_numpy()
    home_lon = frame.groupby(code)["home_lon"].first().to_numpy()
    town_cell = np.floor(home_lat / 0.2) * 1000 + np.floor(home_lon / 0.2)
    towns, town = np.unique(town_cell, return_inverse=True)
    state_cell = np.floor(home_lat / 3) * 100 + np.floor(home_lon / 5)
    states, state = np.unique(state_cell, return_inverse=True)
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    state_names = np.char.add(letters[np.arange(len(states)) % 26], letters[rng.permutation(26)][
        np.arange(len(states)) // 26])  # fmt: skip
    zips = rng.choice(np.arange(1000, 99999), len(towns), replace=False)
    age = frame.groupby(code)["age"].first().to_numpy()
    start = frame["timestamp"].min().tz_convert(None)
    dob = start - pd.to_timedelta((age + rng.uniform(0, 1, n)) * 365.25, unit="D")
    ts = frame["timestamp"].dt.tz_convert(None)
    out = pd.DataFrame(
        {
            "trans_date_trans_time": ts.dt.strftime("%Y-%m-%d %H:%M:%S"),
            "cc_num": _card_numbers(rng, n)[code],
            "merchant": "fraud_" + frame["merchant_id"].astype(str),
            "category": frame["category"],
            "amt": frame["amount"],
            "first": first[code],
            "last": last[code],
            "gender": frame["gender"],
            "street": np.array(street)[code],
            "city": _words(rng, len(towns), 3)[town][code],
            "state": state_names[state][code],
            "zip": zips[town][code],
            "lat": frame["home_lat"],
            "long": frame["home_lon"],
            "city_pop": frame["city_pop"],
            "job": _words(rng, 450, 3)[rng.integers(0, 450, n)][code],
            "dob": pd.Series(dob).dt.strftime("%Y-%m-%d").to_numpy()[code],
            "trans_num": [
                f"{a:016x}{b:016x}" for a, b in rng.integers(0, 2**63, (len(frame), 2)).tolist()
            ],
            "unix_time": (ts.astype("int64") // 10**9).to_numpy(),
            "merch_lat": frame["lat"],
            "merch_long": frame["lon"],
            "is_fraud": frame["is_fraud"],
        }
    )
    return out[RAW_COLUMNS]


def _paysim_files(path: Path, since: str, balances: bool, out_dir: Path) -> list[dict]:
    frame = pd.read_csv(path, dtype=str)
    frame = frame[frame["timestamp"] >= since]
    sets = [("paysim", frame.drop(columns=BALANCES), "balance columns dropped (they leak)")]
    if balances:
        sets.append(("paysim + balances", frame, "balance columns kept: they leak the label"))
    out = []
    for name, data, note in sets:
        file = out_dir / f"{name.replace(' + ', '_')}.csv"
        data.to_csv(file, index=False)
        out.append(
            {
                "name": name,
                "file": file,
                "until": "2025-01-16T23:59:59",
                "from": "2025-01-17",
                "train_args": ["--label-delay-days", "1"],
                "rows": len(data),
                "source": f"{path.name}, rows from {since}, {note}",
            }
        )
    return out


def _run(cmd: list[str], env: dict) -> tuple[str, float]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr[-3000:]}")
    return done.stdout, time.perf_counter() - t0


def _amount_alone(
    file: Path, start: str, columns: tuple[str, str] = ("timestamp", "amount")
) -> dict:
    """AUC and AP of ranking the window by amount alone: a sanity floor for both models."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    from fraud.evaluation import recall_at_fpr

    time_col, amount_col = columns
    data = pd.read_csv(file, usecols=[time_col, amount_col, "is_fraud"])
    ts = pd.to_datetime(data[time_col], utc=True)
    window = data[(ts >= pd.Timestamp(start, tz="UTC")) & data["is_fraud"].notna()]
    y, s = window["is_fraud"].to_numpy(int), window[amount_col].to_numpy(float)
    return {
        "auc_roc": float(roc_auc_score(y, s)),
        "average_precision": float(average_precision_score(y, s)),
        "recall_at_1pct_fpr": recall_at_fpr(y, s, 0.01),
    }


def _shown(cmd: list[str]) -> str:
    return " ".join(["moesuite", *cmd[2:]])


def run_set(spec: dict, work: Path, env: dict, train_extra: list[str]) -> dict:
    bundle = work / f"bundle-{zlib.crc32(spec['name'].encode()):08x}"
    train = [sys.executable, "cli.py", "train-fraud", str(spec["file"]), "-o", str(bundle)]
    train += ["--until", spec["until"], *spec["train_args"], *train_extra]
    evaluate = [sys.executable, "cli.py", "evaluate-fraud", str(spec["file"]), "--bundle"]
    evaluate += [str(bundle), "--from", spec["from"], "--no-ablation", "--format", "json"]
    evaluate += spec.get("eval_args", [])
    _, train_s = _run(train, env)
    text, eval_s = _run(evaluate, env)
    m = json.loads(text)["metrics"]
    return {
        "amount_alone": _amount_alone(
            spec["file"], spec["from"], spec.get("time_amount", ("timestamp", "amount"))
        ),
        **spec,
        "metrics": m,
        "train_s": train_s,
        "eval_s": eval_s,
        "commands": [_shown(train), _shown(evaluate)],
    }


def table(results: list[dict]) -> str:
    """Markdown table: one block of two rows (suite, baseline) per data set."""
    lines = [
        "| data set | rows (window rows, frauds) | model | AUC | AP | recall@1%FPR |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        m, ref = r["metrics"], r["metrics"]["reference_baseline"]
        size = f"{r['rows']:,} ({m['rows']:,}, {m['frauds']})"
        rows = (("suite", m), ("reference baseline", ref), ("amount alone", r["amount_alone"]))
        for label, x in rows:
            ap = (
                f"**{x['average_precision']:.3f}**"
                if label == "suite"
                else (f"{x['average_precision']:.3f}")
            )
            lines.append(
                f"| {r['name']} | {size} | {label} | {x['auc_roc']:.3f} | {ap} | "
                f"{x['recall_at_1pct_fpr']:.3f} |"
            )
            size = ""
    deltas = [r["metrics"]["versus_baseline"]["delta"]["average_precision"] for r in results]
    ahead = sum(d >= 0 for d in deltas)
    lines.append("")
    lines.append(
        f"Suite at or above its baseline on {ahead} of {len(deltas)} data sets; mean AP "
        f"difference {sum(deltas) / max(len(deltas), 1):+.3f} (goal: >= 0 on each, >= +0.03 on "
        "average). 'amount alone' ranks the window by the amount column: where the baseline "
        "falls below it, its stock booster collapsed on that history."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=60_000, help="rows per simulated regime")
    parser.add_argument(
        "--sets", default="terminal,merchant,device,paysim", help="also: merchant-raw"
    )
    parser.add_argument(
        "--seed",
        type=int,
        help="simulator seed for every regime (design: < 1000) instead of the report seeds",
    )
    parser.add_argument("--paysim", type=Path, default=PAYSIM)
    parser.add_argument("--paysim-from", default="2025-01-14")
    parser.add_argument("--paysim-balances", action="store_true")
    parser.add_argument("--no-sequence", action="store_true", help="train-fraud --no-sequence")
    parser.add_argument("--sequence-steps", type=int, help="train-fraud --sequence-steps N")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    if "paysim" in sets and not args.paysim.is_file():
        parser.error(f"{args.paysim} not found (--paysim FILE)")
    train_extra = ["--no-sequence"] if args.no_sequence else []
    if args.sequence_steps:
        train_extra += ["--sequence-steps", str(args.sequence_steps)]
    print(f"load average at start: {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="fraud-gen-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "MOESUITE_HOME": str(work / "home"), "OMP_NUM_THREADS": "1"}
        env["PYTHONPATH"] = str(ROOT)
        specs = []
        for name in sets:
            if name == "paysim":
                specs += _paysim_files(args.paysim, args.paysim_from, args.paysim_balances, work)
            else:
                specs.append(_regime_file(name, args.rows, work / f"{name}.csv", args.seed))
        results = []
        for spec in specs:
            print(f"{spec['name']}: {spec['source']}", flush=True)
            r = run_set(spec, work, env, train_extra)
            results.append(r)
            print(
                f"  train {r['train_s']:.0f}s, evaluate {r['eval_s']:.0f}s; "
                f"{r['metrics']['versus_baseline']['verdict']}",
                flush=True,
            )
    print()
    print(table(results))
    print()
    for r in results:
        print(f"{r['name']}: {r['source']}")
        for c in r["commands"]:
            print(f"    {c}")
    print(f"load average at end: {os.getloadavg()}")
    if args.json:
        keep = [{k: v for k, v in r.items() if k != "file"} for r in results]
        args.json.write_text(json.dumps(keep, indent=2, default=str))


if __name__ == "__main__":
    main()
