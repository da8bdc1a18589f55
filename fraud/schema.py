"""The canonical transaction frame: column resolution, row validation and rejections.

`read_transactions` turns a CSV / JSONL / Parquet file into the canonical frame every other
part of `fraud` reads. Bad rows do not stop ingest: each becomes one `Rejection` naming the
file, the 1-based source line, the field (named as in the input file) and the reason, and the
good rows go on, so ``rows_in == len(frame) + len(rejections)`` always. Only whole-file problems
raise `InputFileError`. Card numbers are replaced by keyed tokens before anything else runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import BinaryIO

import numpy as np
import pandas as pd

from fraud.errors import ConfigError, InputFileError
from fraud.io import RawTable, read_table, write_frame
from fraud.pan import looks_like_pan_column, luhn_valid, mask_pan, normalize_pans, tokenize_pans

REQUIRED = ("transaction_id", "timestamp", "customer_id", "amount")
OPTIONAL = (
    "currency",
    "merchant_id",
    "mcc",
    "terminal_id",
    "country",
    "channel",
    "device_id",
    "lat",
    "lon",
    "is_fraud",
    "label_time",
    "card_token",
)
CANONICAL = REQUIRED + OPTIONAL
PAN_NAMES = ("pan", "card_number")
CUSTOMER_PAN_SHARE = 0.5  # of a customer column's values passing the card-number check

# Other spellings accepted when the canonical name itself is absent (case-insensitive).
ALIASES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "transaction_id": ("txn_id", "tx_id", "trans_id"),
        "timestamp": ("ts", "datetime", "event_time", "transaction_time"),
        "customer_id": ("card_id", "account_id", "client_id"),
        "amount": ("amt", "transaction_amount"),
        "lat": ("latitude",),
        "lon": ("lng", "longitude"),
        "pan": ("card_number", "cardnumber", "card_no", "pan_number"),
    }
)

# ISO 4217 active codes (2025 list, including VED/ZWG/XCG).
ISO_4217: frozenset[str] = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD
    FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES
    KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR
    MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB
    RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY
    TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
    ZWL""".split()
)

# ISO 3166-1 alpha-2 assigned codes, plus XK (Kosovo), which card networks use.
ISO_3166: frozenset[str] = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO
    DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU
    GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW
    KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU
    MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW
    PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
    TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT
    ZA ZM ZW""".split()
)

# Clock skew tolerated before a timestamp counts as "in the future".
FUTURE_TOLERANCE = timedelta(minutes=5)
_TRUE = frozenset({"1", "true", "t", "yes", "y", "1.0"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "0.0"})
_CHANNEL = re.compile(r"^[a-z][a-z0-9_]*$")
_MCC = re.compile(r"^\d{1,4}$")


@dataclass(frozen=True)
class Rejection:
    """One input row that was not ingested.

    Attributes:
        path: The input file as given.
        line: 1-based source line (CSV header is line 1; Parquet: row index + 1).
        field: The offending column, named as in the input file (``_row`` when the record
            itself could not be parsed).
        reason: What is wrong, in words a user can act on.
        value: The offending value as text (card numbers masked).
    """

    path: str
    line: int
    field: str
    reason: str
    value: str


@dataclass(frozen=True)
class IngestOptions:
    """How to read a transaction file.

    Attributes:
        column_map: Input column name -> canonical name (``their=our``), applied first.
        pan_key: Key for card-number tokens; required only when the file holds card numbers.
        known_currencies: Accepted ISO 4217 codes; anything else is rejected.
        allow_future: Accept timestamps later than ``now`` (plus 5 minutes of clock skew).
        now: Reference time for the future check; the current time when None.
    """

    column_map: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    pan_key: bytes | None = None
    known_currencies: frozenset[str] = ISO_4217
    allow_future: bool = False
    now: datetime | None = None


@dataclass(frozen=True)
class IngestResult:
    """The canonical frame and what was left out.

    Attributes:
        frame: Canonical columns present in the file, ``_line``, then pass-through extras,
            in source order.
        rejections: One per rejected row, in source order.
        rows_in: Records read (``len(frame) + len(rejections)``).
        source: The input path as given.
        present_optional: Optional canonical columns that exist in ``frame``.
        extra_columns: Pass-through columns, named as in the input.
    """

    frame: pd.DataFrame
    rejections: list[Rejection]
    rows_in: int
    source: str
    present_optional: frozenset[str]
    extra_columns: list[str] = field(default_factory=list)


def parse_column_map(text: str) -> dict[str, str]:
    """Parse ``their=our,other=our2`` into a column map.

    Raises:
        ConfigError: An entry is not ``name=name``, a target is not a canonical column, or two
            input columns map to the same target.
    """
    result: dict[str, str] = {}
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        their, sep, our = (s.strip() for s in entry.partition("="))
        if not sep or not their or not our:
            raise ConfigError(f"column map entry {entry!r} must look like their_name=our_name")
        if our not in CANONICAL and our not in PAN_NAMES:
            raise ConfigError(
                f"column map entry {entry!r}: {our!r} is not a canonical column; "
                f"use one of {', '.join(CANONICAL + PAN_NAMES)}"
            )
        if our in result.values():
            raise ConfigError(f"column map maps two columns to {our!r}")
        result[their] = our
    return result


def read_transactions(
    path: str | Path, options: IngestOptions | None = None, stdin: BinaryIO | None = None
) -> IngestResult:
    """Read and validate a transaction file into the canonical frame.

    Args:
        path: ``.csv``, ``.csv.gz``, ``.jsonl``, ``.ndjson`` or ``.parquet`` file, or ``-`` for
            CSV on stdin.
        options: Column map, PAN key, currencies, future-timestamp policy.
        stdin: Stream used for ``-`` (default ``sys.stdin.buffer``).

    Returns:
        The canonical frame, the rejections and the counts.

    Raises:
        InputFileError: The file cannot be read, has an unknown extension, lacks a required
            column, or holds card numbers while no PAN key was given.
    """
    options = options or IngestOptions()
    raw = read_table(path, stdin=stdin)
    return validate_table(raw, options)


def validate_table(raw: RawTable, options: IngestOptions) -> IngestResult:
    """Validate an already read table (see `read_transactions`)."""
    source = raw.source
    names = _resolve_columns(list(raw.frame.columns), options.column_map, source)
    frame = raw.frame
    n = len(frame)
    checker = _RowChecker(n)
    columns: dict[str, pd.Series] = {}

    # Card numbers first: tokenise, then drop every raw PAN column before anything else.
    pan_sources = [c for c, name in names.items() if name == "pan"]
    for column, name in names.items():
        if name is None and column not in pan_sources and looks_like_pan_column(frame[column]):
            pan_sources.append(column)
    customer_is_pan = False
    customer_source = _source_of(names, "customer_id")
    # A customer column of card numbers (a card-keyed file such as Sparkov's cc_num) may hold a
    # few numbers that fail the check (12-digit Maestro cards, digits lost to a float export):
    # half the rows passing already rules out ordinary ids (one in ten pass by chance), and
    # then every value is tokenised, none rejected, so no card number stays raw.
    if customer_source is not None and looks_like_pan_column(
        _as_text(frame[customer_source]), share=CUSTOMER_PAN_SHARE
    ):
        customer_is_pan = True
    if (pan_sources or customer_is_pan) and options.pan_key is None:
        raise InputFileError(
            source,
            "holds card numbers; a PAN key is needed to tokenise them "
            "(set MOESUITE_PAN_KEY or let the suite create pan.key under its home)",
        )
    tokens_by_column: dict[str, pd.Series] = {}
    for column in pan_sources + ([customer_source] if customer_is_pan else []):
        is_customer = column == customer_source and column not in pan_sources
        # (A float column's integral values read as digits, not "4111...0.0".)
        digits = normalize_pans(_as_text(frame[column]) if is_customer else frame[column])
        present = digits.notna() & (digits.astype("string").str.len() > 0).fillna(False)
        valid = np.ones(len(digits), dtype=bool) if is_customer else luhn_valid(digits)
        checker.reject(
            present.to_numpy() & ~valid,
            column,
            "not a valid card number (13-19 digits with a Luhn check digit)",
            frame[column],
        )
        tokens_by_column[column] = tokenize_pans(digits.where(present & valid), options.pan_key)
    if pan_sources:
        columns["card_token"] = tokens_by_column[pan_sources[0]]
    elif customer_is_pan:
        columns["card_token"] = tokens_by_column[customer_source]
    frame = frame.drop(columns=pan_sources)
    if customer_is_pan:
        frame = frame.assign(**{customer_source: tokens_by_column[customer_source]})

    if customer_source is None:
        if "card_token" not in columns:
            raise InputFileError(source, _missing_message(["customer_id"], list(raw.frame.columns)))
        customer_source = pan_sources[0]  # rows missing a card number are reported there
        text_customer = columns["card_token"]
    else:
        text_customer = None

    def src(name: str) -> str | None:
        return _source_of(names, name)

    def text(name: str) -> pd.Series:
        return _as_text(frame[src(name)])

    # Required columns, in order; each row is rejected for its first problem only.
    tid = text("transaction_id")
    checker.reject_missing(tid, src("transaction_id"))
    ts = _parse_times(frame[src("timestamp")])
    checker.reject_missing(_missing_or_text(frame[src("timestamp")]), src("timestamp"))
    checker.reject(
        ts.isna().to_numpy(),
        src("timestamp"),
        "not an ISO 8601 timestamp (e.g. 2026-01-31T14:05:00Z)",
        frame[src("timestamp")],
    )
    if not options.allow_future:
        now = pd.Timestamp(options.now or datetime.now(UTC))
        now = now.tz_localize("UTC") if now.tzinfo is None else now.tz_convert("UTC")
        checker.reject(
            (ts > now + FUTURE_TOLERANCE).fillna(False).to_numpy(),
            src("timestamp"),
            "timestamp is in the future",
            frame[src("timestamp")],
        )
    customer = text_customer if text_customer is not None else text("customer_id")
    checker.reject_missing(customer, customer_source)
    amount_raw = frame[src("amount")]
    amount = _as_number(amount_raw)
    checker.reject_missing(_missing_or_text(amount_raw), src("amount"))
    checker.reject(~np.isfinite(amount.to_numpy()), src("amount"), "not a number", amount_raw)
    checker.reject((amount < 0).to_numpy(), src("amount"), "negative amount", amount_raw)
    columns.update(transaction_id=tid, timestamp=ts, customer_id=customer, amount=amount)

    _check_optional(frame, names, checker, columns, ts, options, source)

    # Duplicates among otherwise good rows: the first occurrence wins.
    ok = ~checker.bad
    dup_candidates = pd.Series(tid.to_numpy(dtype=object)[ok], index=np.flatnonzero(ok))
    dup = dup_candidates.duplicated(keep="first")
    if dup.any():
        first_line = dict(
            zip(
                dup_candidates[~dup].to_numpy(),
                raw.lines[dup_candidates.index[~dup]],
                strict=True,
            )
        )
        rows = dup_candidates.index[dup].to_numpy()
        mask = np.zeros(n, dtype=bool)
        mask[rows] = True
        reasons = np.empty(n, dtype=object)
        reasons[rows] = [
            f"duplicate transaction_id (first seen on line {first_line[v]})"
            for v in dup_candidates[dup].to_numpy()
        ]
        checker.reject(mask, src("transaction_id"), reasons, tid)

    good = ~checker.bad
    out: dict[str, pd.Series | np.ndarray] = {}
    for name in CANONICAL:
        if name in columns:
            out[name] = _canonical_dtype(name, pd.Series(columns[name]).reset_index(drop=True))[
                good
            ].reset_index(drop=True)
    out["_line"] = pd.Series(raw.lines[good], dtype="int64")
    used = {c for c, name in names.items() if name is not None}
    extras = [c for c in frame.columns if c not in used and c not in out]
    for column in extras:
        out[column] = frame[column].reset_index(drop=True)[good].reset_index(drop=True)
    result_frame = pd.DataFrame(out)

    rejections = checker.rejections(source, raw.lines)
    for line, reason in raw.malformed:
        rejections.append(Rejection(source, int(line), "_row", reason, ""))
    rejections.sort(key=lambda r: r.line)
    return IngestResult(
        frame=result_frame,
        rejections=rejections,
        rows_in=n + len(raw.malformed),
        source=source,
        present_optional=frozenset(c for c in OPTIONAL if c in result_frame.columns),
        extra_columns=extras,
    )


def write_rejections(rejections: list[Rejection], path: str | Path) -> None:
    """Write rejections as CSV / JSONL / Parquet (by extension), atomically.

    Columns: path, line, field, reason, value.
    """
    frame = pd.DataFrame(
        {
            "path": [r.path for r in rejections],
            "line": pd.Series([r.line for r in rejections], dtype="int64"),
            "field": [r.field for r in rejections],
            "reason": [r.reason for r in rejections],
            "value": [mask_pan(r.value) for r in rejections],
        }
    )
    write_frame(frame, path)


class _RowChecker:
    """Collects the first problem of every row, vectorised."""

    def __init__(self, n: int) -> None:
        self.bad = np.zeros(n, dtype=bool)
        self.field = np.empty(n, dtype=object)
        self.reason = np.empty(n, dtype=object)
        self.value = np.empty(n, dtype=object)

    def reject(
        self, mask: np.ndarray, column: str, reason: str | np.ndarray, values: pd.Series
    ) -> None:
        new = np.asarray(mask, dtype=bool) & ~self.bad
        if not new.any():
            return
        self.bad |= new
        self.field[new] = column
        self.reason[new] = reason[new] if isinstance(reason, np.ndarray) else reason
        shown = pd.Series(values).reset_index(drop=True)[new]
        self.value[new] = ["" if _is_missing(v) else mask_pan(str(v)) for v in shown]

    def reject_missing(self, values: pd.Series, column: str) -> None:
        self.reject(values.isna().to_numpy(), column, "missing value", values)

    def rejections(self, source: str, lines: np.ndarray) -> list[Rejection]:
        rows = np.flatnonzero(self.bad)
        return [
            Rejection(source, int(lines[i]), self.field[i], self.reason[i], self.value[i])
            for i in rows
        ]


def _check_optional(
    frame: pd.DataFrame,
    names: Mapping[str, str | None],
    checker: _RowChecker,
    columns: dict[str, pd.Series],
    ts: pd.Series,
    options: IngestOptions,
    source: str,
) -> None:
    def src(name: str) -> str | None:
        return _source_of(names, name)

    for name in ("merchant_id", "terminal_id", "device_id"):
        if src(name) is not None:
            columns[name] = _as_text(frame[src(name)])
    if src("card_token") is not None and "card_token" not in columns:
        columns["card_token"] = _as_text(frame[src("card_token")])

    if src("currency") is not None:
        raw = frame[src("currency")]
        currency = _as_text(raw).str.upper()
        unknown = currency.notna() & ~currency.isin(options.known_currencies)
        checker.reject(unknown.to_numpy(), src("currency"), "unknown currency (ISO 4217)", raw)
        columns["currency"] = currency

    if src("mcc") is not None:
        raw = frame[src("mcc")]
        mcc = _as_text(raw)
        bad = mcc.notna() & ~mcc.str.fullmatch(_MCC).fillna(False)
        checker.reject(bad.to_numpy(), src("mcc"), "merchant category code must be 4 digits", raw)
        columns["mcc"] = mcc.where(~bad).str.zfill(4)

    if src("country") is not None:
        raw = frame[src("country")]
        country = _as_text(raw).str.upper()
        bad = country.notna() & ~country.isin(ISO_3166)
        checker.reject(bad.to_numpy(), src("country"), "unknown country (ISO 3166 alpha-2)", raw)
        columns["country"] = country

    if src("channel") is not None:
        raw = frame[src("channel")]
        channel = _as_text(raw).str.lower().str.replace(r"[\s\-]+", "_", regex=True)
        bad = channel.notna() & ~channel.str.fullmatch(_CHANNEL).fillna(False)
        checker.reject(bad.to_numpy(), src("channel"), "channel must be a word", raw)
        columns["channel"] = channel

    if (src("lat") is None) != (src("lon") is None):
        present = src("lat") or src("lon")
        raise InputFileError(source, f"has {present!r} but not its pair (lat/lon)")
    if src("lat") is not None:
        coords = {}
        for name, limit in (("lat", 90.0), ("lon", 180.0)):
            raw = frame[src(name)]
            text = _missing_or_text(raw)
            value = _as_number(raw)
            checker.reject(
                (text.notna() & ~np.isfinite(value)).to_numpy(), src(name), "not a number", raw
            )
            checker.reject(
                (value.abs() > limit).to_numpy(),
                src(name),
                f"coordinate out of range (-{limit:g}..{limit:g})",
                raw,
            )
            coords[name] = (value, raw)
        lat, lon = coords["lat"][0], coords["lon"][0]
        checker.reject(
            (lat.isna() & lon.notna()).to_numpy(), src("lat"), "lon given without lat", lat
        )
        checker.reject(
            (lon.isna() & lat.notna()).to_numpy(), src("lon"), "lat given without lon", lon
        )
        columns["lat"], columns["lon"] = lat, lon

    if src("is_fraud") is not None:
        raw = frame[src("is_fraud")]
        text = _as_text(raw).str.lower()
        label = pd.Series(pd.NA, index=text.index, dtype="Int8")
        label[text.isin(_TRUE).to_numpy()] = 1
        label[text.isin(_FALSE).to_numpy()] = 0
        bad = text.notna() & label.isna()
        checker.reject(bad.to_numpy(), src("is_fraud"), "label must be 0 or 1", raw)
        columns["is_fraud"] = label

    if src("label_time") is not None:
        raw = frame[src("label_time")]
        label_time = _parse_times(raw)
        present = _missing_or_text(raw).notna()
        checker.reject(
            (present & label_time.isna()).to_numpy(),
            src("label_time"),
            "not an ISO 8601 timestamp (e.g. 2026-01-31T14:05:00Z)",
            raw,
        )
        checker.reject(
            (label_time < ts).fillna(False).to_numpy(),
            src("label_time"),
            "label_time is before the transaction timestamp",
            raw,
        )
        columns["label_time"] = label_time


def _resolve_columns(
    columns: list[str], column_map: Mapping[str, str], source: str
) -> dict[str, str | None]:
    """Map each input column to its canonical name (or ``pan``), None for pass-through."""
    for their, our in column_map.items():
        if their not in columns:
            raise InputFileError(
                source,
                f"column map names {their!r}, which is not in the file "
                f"(columns: {', '.join(columns)})",
            )
        if our not in CANONICAL and our not in PAN_NAMES:
            raise ConfigError(f"column map target {our!r} is not a canonical column")
    names: dict[str, str | None] = {}
    taken: dict[str, str] = {}
    for column in columns:
        target = column_map.get(column)
        if target is None and column.lower() in CANONICAL + PAN_NAMES:
            target = column.lower()
        if target == "card_number":
            target = "pan"
        if target is not None and target != "pan":
            if target in taken:
                raise InputFileError(
                    source, f"columns {taken[target]!r} and {column!r} both give {target!r}"
                )
            taken[target] = column
        names[column] = target
    for column in columns:
        if names[column] is not None:
            continue
        for target, aliases in ALIASES.items():
            if column.lower() in aliases and (target == "pan" or target not in taken):
                names[column] = target
                if target != "pan":
                    taken[target] = column
                break
    missing = [r for r in REQUIRED if r not in taken]
    if "customer_id" in missing and "pan" in names.values():
        missing.remove("customer_id")  # the card token stands in for the customer
    if missing:
        raise InputFileError(source, _missing_message(missing, columns))
    return names


def _missing_message(missing: list[str], columns: list[str]) -> str:
    return (
        f"required column(s) {', '.join(missing)} missing (file has: {', '.join(columns)}); "
        "rename them with --column-map their_name=our_name"
    )


def _source_of(names: Mapping[str, str | None], canonical: str) -> str | None:
    for column, name in names.items():
        if name == canonical:
            return column
    return None


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def _as_text(values: pd.Series) -> pd.Series:
    """Values as stripped strings; empty and missing become NA (pandas string dtype)."""
    if pd.api.types.is_float_dtype(values):
        finite = values.dropna()
        if len(finite) and np.all(np.mod(finite.to_numpy(), 1) == 0):
            # JSON and Parquet turn integer ids with gaps into floats: 17.0 must read as 17.
            if np.all(np.abs(finite.to_numpy()) < 2**53):
                values = values.astype("Int64")
    elif pd.api.types.is_bool_dtype(values):
        values = values.astype("Int8")
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def _missing_or_text(values: pd.Series) -> pd.Series:
    """Values as text for string columns; typed columns (Parquet) as they are, for NA checks."""
    if pd.api.types.is_string_dtype(values) or pd.api.types.is_object_dtype(values):
        return _as_text(values)
    return values


def _as_number(values: pd.Series) -> pd.Series:
    """Values as float64; unparseable text becomes NaN."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    return pd.to_numeric(_as_text(values), errors="coerce").astype("float64")


def _parse_times(values: pd.Series) -> pd.Series:
    """Timestamps as datetime64[ns, UTC]; naive values are taken as UTC, bad ones become NaT."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        parsed = values.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(values):
        parsed = values.dt.tz_localize("UTC")
    else:
        text = _as_text(values).astype(object)
        parsed = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
    return pd.Series(parsed, index=values.index).astype("datetime64[ns, UTC]")


def _canonical_dtype(name: str, values: pd.Series) -> pd.Series:
    if name in ("timestamp", "label_time"):
        return values.astype("datetime64[ns, UTC]")
    if name in ("amount", "lat", "lon"):
        return values.astype("float64")
    if name == "is_fraud":
        return values.astype("Int8")
    return values.astype("str")
