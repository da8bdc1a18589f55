"""Seeded transaction simulator: customer habits, merchants, seasonality, five fraud scenarios.

This is the ``default`` regime; ``SimulationConfig.regime`` picks another (`fraud.regimes`).

Legitimate traffic: each customer has a home city, a lognormal spending profile, favourite
merchants, active hours and one or two devices; days follow a weekly cycle. Legitimate noise
(travel, new devices, big purchases, night-time spending) keeps every fraud signal ambiguous on
its own. Fraud: card-testing bursts, account takeover, a compromised terminal, a stolen card used
far from home, and a merchant bust-out; every event draws its own parameters. Labels arrive late:
``label_time`` is the transaction time plus a reporting or chargeback delay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from fraud.errors import ConfigError
from fraud.io import write_frame

SCENARIOS = (
    "card_testing",
    "account_takeover",
    "compromised_terminal",
    "stolen_card",
    "merchant_bust_out",
)
_SHARES = np.array([0.25, 0.2, 0.2, 0.2, 0.15])
# "default" is this module's world (the one the suite was designed in); the others, with their
# own scenario mixes and column sets, live in fraud.regimes.
REGIMES = ("default", "terminal", "merchant", "device")

# (lat, lon, country, currency, units per USD, population weight)
_CITIES = [
    (40.71, -74.01, "US", "USD", 1.0, 10),
    (41.88, -87.63, "US", "USD", 1.0, 6),
    (34.05, -118.24, "US", "USD", 1.0, 7),
    (29.76, -95.37, "US", "USD", 1.0, 4),
    (51.51, -0.13, "GB", "GBP", 0.79, 7),
    (53.48, -2.24, "GB", "GBP", 0.79, 3),
    (48.86, 2.35, "FR", "EUR", 0.92, 5),
    (52.52, 13.40, "DE", "EUR", 0.92, 5),
    (40.42, -3.70, "ES", "EUR", 0.92, 3),
    (52.37, 4.90, "NL", "EUR", 0.92, 2),
    (52.23, 21.01, "PL", "PLN", 4.0, 2),
    (43.65, -79.38, "CA", "CAD", 1.36, 3),
    (19.43, -99.13, "MX", "MXN", 17.0, 2),
    (35.68, 139.69, "JP", "JPY", 150.0, 2),
    (-33.87, 151.21, "AU", "AUD", 1.52, 1),
    (25.20, 55.27, "AE", "AED", 3.67, 1),
]
# (mcc, weight, amount multiplier, channel mix: card_present, contactless, online, atm)
_MCCS = [
    ("5411", 20, 1.0, (0.5, 0.45, 0.05, 0)),
    ("5812", 12, 1.2, (0.5, 0.5, 0.0, 0)),
    ("5814", 10, 0.4, (0.3, 0.7, 0.0, 0)),
    ("5541", 8, 1.5, (0.7, 0.3, 0.0, 0)),
    ("5311", 6, 2.0, (0.5, 0.4, 0.1, 0)),
    ("5912", 5, 0.8, (0.5, 0.5, 0.0, 0)),
    ("4111", 5, 0.2, (0.1, 0.9, 0.0, 0)),
    ("5732", 3, 6.0, (0.5, 0.2, 0.3, 0)),
    ("5944", 1, 8.0, (0.8, 0.2, 0.0, 0)),
    ("7011", 2, 6.0, (0.6, 0.1, 0.3, 0)),
    ("5968", 6, 0.5, (0.0, 0.0, 1.0, 0)),
    ("5816", 4, 0.3, (0.0, 0.0, 1.0, 0)),
    ("5999", 8, 1.0, (0.2, 0.2, 0.6, 0)),
    ("6011", 5, 3.0, (0.0, 0.0, 0.0, 1.0)),
]
_CHANNELS = np.array(["card_present", "contactless", "online", "atm"])


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate. Defaults give a 100k-row, 90-day data set at about 0.5% fraud."""

    n_transactions: int = 100_000
    n_customers: int = 5_000
    n_merchants: int = 800
    start: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    days: int = 90
    fraud_rate_target: float = 0.005
    seed: int = 0
    label_delay_days_mean: float = 7.0
    chargeback_share: float = 0.35
    legit_label_days: float = 30.0
    with_pan: bool = False
    regime: str = "default"

    def __post_init__(self) -> None:
        if self.regime not in REGIMES:
            raise ConfigError(f"unknown regime {self.regime!r}; use one of {', '.join(REGIMES)}")
        if self.n_transactions < 1000:
            raise ConfigError("simulate at least 1000 transactions (--rows)")
        if self.n_customers < 50 or self.n_merchants < 20:
            raise ConfigError("simulate at least 50 customers and 20 merchants")
        if self.days < 7:
            raise ConfigError("simulate at least 7 days (--days)")
        if not 0.001 <= self.fraud_rate_target <= 0.01:
            raise ConfigError("fraud rate must be between 0.001 and 0.01 (--fraud-rate)")


@dataclass(frozen=True)
class SimulationSummary:
    """What `write_simulation` wrote."""

    path: str
    rows: int
    fraud_rows: int
    fraud_rate: float
    per_scenario: dict[str, int]


def simulate(config: SimulationConfig) -> pd.DataFrame:
    """Simulate transactions in the canonical columns plus ``fraud_scenario`` (and ``pan``).

    Deterministic for a given config (seed included). Rows are in time order. A regime other
    than ``default`` has its own columns and scenarios (`fraud.regimes`).
    """
    if config.regime != "default":
        from fraud.regimes import simulate_regime

        return simulate_regime(config)
    rng = np.random.default_rng(config.seed)
    world = _World.build(config, rng)
    n_fraud = int(round(config.n_transactions * config.fraud_rate_target))
    quotas = rng.multinomial(n_fraud - len(SCENARIOS), _SHARES) + 1
    fraud = [_SCENARIO_FUNCS[i](world, rng, int(q)) for i, q in enumerate(quotas)]
    fraud_rows = pd.concat(fraud, ignore_index=True)
    legit = world.legit(rng, config.n_transactions - len(fraud_rows))
    frame = pd.concat([legit, fraud_rows], ignore_index=True)
    world.retire_bust_out_merchants(frame, rng)
    frame = frame.sort_values("t", kind="stable").reset_index(drop=True)
    return world.finish(frame, rng)


def write_simulation(config: SimulationConfig, path: str | Path) -> SimulationSummary:
    """Simulate and write the result atomically (CSV / JSONL / Parquet by extension)."""
    frame = simulate(config)
    write_frame(frame, path)
    counts = frame.loc[frame["is_fraud"] == 1, "fraud_scenario"].value_counts()
    fraud_rows = int(frame["is_fraud"].sum())
    return SimulationSummary(
        path=str(path),
        rows=len(frame),
        fraud_rows=fraud_rows,
        fraud_rate=fraud_rows / len(frame),
        per_scenario={s: int(counts.get(s, 0)) for s in scenarios(config.regime)},
    )


def scenarios(regime: str = "default") -> tuple[str, ...]:
    """The fraud scenarios a regime simulates."""
    if regime == "default":
        return SCENARIOS
    from fraud.regimes import SCENARIOS as REGIME_SCENARIOS

    return REGIME_SCENARIOS[regime]


class _World:
    """Customers, merchants and terminals; times are float seconds since ``start``."""

    def __init__(self, config: SimulationConfig) -> None:
        self.config = config
        self.span = config.days * 86400.0
        self.bust_out: list[tuple[int, float]] = []

    @classmethod
    def build(cls, config: SimulationConfig, rng: np.random.Generator) -> _World:
        w = cls(config)
        cities = np.array([c[5] for c in _CITIES], dtype=float)
        w.city_lat = np.array([c[0] for c in _CITIES])
        w.city_lon = np.array([c[1] for c in _CITIES])
        w.city_country = np.array([c[2] for c in _CITIES])
        w.city_currency = np.array([c[3] for c in _CITIES])
        w.city_fx = np.array([c[4] for c in _CITIES])
        nc, nm = config.n_customers, config.n_merchants
        # Customers
        w.c_city = rng.choice(len(_CITIES), nc, p=cities / cities.sum())
        w.c_lat = w.city_lat[w.c_city] + rng.normal(0, 0.08, nc)
        w.c_lon = w.city_lon[w.c_city] + rng.normal(0, 0.08, nc)
        w.c_mu = rng.normal(3.2, 0.6, nc)
        w.c_sigma = rng.uniform(0.4, 1.0, nc)
        w.c_activity = rng.lognormal(0, 0.8, nc)
        w.c_peak = rng.normal(14, 3, nc)
        w.c_spread = rng.uniform(2, 5, nc)
        w.c_devices = rng.integers(1, 3, nc)
        # Merchants: spread over cities by population, each with an MCC and 1-4 terminals
        weights = np.array([m[1] for m in _MCCS], dtype=float)
        w.m_city = rng.choice(len(_CITIES), nm, p=cities / cities.sum())
        w.m_city[: len(_CITIES)] = np.arange(len(_CITIES))  # every city has a merchant
        w.m_mcc = rng.choice(len(_MCCS), nm, p=weights / weights.sum())
        w.m_lat = w.city_lat[w.m_city] + rng.normal(0, 0.08, nm)
        w.m_lon = w.city_lon[w.m_city] + rng.normal(0, 0.08, nm)
        w.m_popularity = rng.pareto(1.5, nm) + 0.1
        w.m_terminals = rng.integers(1, 5, nm)
        w.mcc_scale = np.array([m[2] for m in _MCCS])
        w.mcc_channels = np.array([m[3] for m in _MCCS], dtype=float)
        w.by_city = [np.flatnonzero(w.m_city == c) for c in range(len(_CITIES))]
        # Favourite merchants: 8 draws per customer from home-city merchants by popularity
        w.c_favs = np.empty((nc, 8), dtype=np.int64)
        for c, members in enumerate(w.by_city):
            who = np.flatnonzero(w.c_city == c)
            p = w.m_popularity[members] / w.m_popularity[members].sum()
            w.c_favs[who] = members[rng.choice(len(members), (len(who), 8), p=p)]
        return w

    # -- helpers -------------------------------------------------------------------------
    def _rows(self, t, cust, merch, amount_usd, channel, lat, lon, device, terminal, scenario):
        n = len(t)
        cur_city = self.m_city[merch]
        return pd.DataFrame(
            {
                "t": np.minimum(np.asarray(t, dtype=float), self.span - 1.0),
                "cust": np.broadcast_to(cust, n).astype(np.int64),
                "merch": np.broadcast_to(merch, n).astype(np.int64),
                "amount": np.round(np.asarray(amount_usd) * self.city_fx[cur_city], 2),
                "channel": np.broadcast_to(channel, n).astype(np.int8),
                "lat": np.broadcast_to(lat, n).astype(float),
                "lon": np.broadcast_to(lon, n).astype(float),
                "device": np.broadcast_to(device, n).astype(np.int64),
                "terminal": np.broadcast_to(terminal, n).astype(np.int64),
                "scenario": np.broadcast_to(scenario, n).astype(np.int8),
            }
        )

    def _typical(self, cust, rng, size=None) -> np.ndarray:
        return np.exp(self.c_mu[cust] + self.c_sigma[cust] * rng.normal(size=size))

    def _hour_seconds(self, cust, rng, n) -> np.ndarray:
        hour = np.mod(self.c_peak[cust] + self.c_spread[cust] * rng.normal(size=n), 24)
        return hour * 3600.0

    def _channel_for(self, merch, rng) -> np.ndarray:
        probs = self.mcc_channels[self.m_mcc[merch]]
        cum = probs.cumsum(axis=1)
        return (rng.random(len(merch))[:, None] > cum).sum(axis=1).clip(0, 3)

    # -- legitimate traffic --------------------------------------------------------------
    def legit(self, rng: np.random.Generator, n: int) -> pd.DataFrame:
        cfg = self.config
        cust = rng.choice(cfg.n_customers, n, p=self.c_activity / self.c_activity.sum())
        # Weekly cycle (Friday/Saturday busiest) and a slow upward trend.
        day = np.arange(cfg.days)
        weekday = (day + cfg.start.weekday()) % 7
        day_w = np.array([0.9, 0.95, 1.0, 1.0, 1.2, 1.3, 0.8])[weekday] * (1 + 0.002 * day)
        d = rng.choice(cfg.days, n, p=day_w / day_w.sum())
        t = d * 86400.0 + self._hour_seconds(cust, rng, n) + rng.uniform(0, 60, n)
        # 80% at a favourite, else any merchant in town; 3% travel to another city.
        merch = self.c_favs[cust, rng.integers(0, 8, n)]
        other = rng.random(n) < 0.2
        city = self.c_city[cust].copy()
        travel = rng.random(n) < 0.03
        city[travel] = rng.integers(0, len(_CITIES), travel.sum())
        pick = other | travel
        for c in np.unique(city[pick]):
            sel = np.flatnonzero(pick & (city == c))
            members = self.by_city[c]
            merch[sel] = members[rng.integers(0, len(members), len(sel))]
        amount = self._typical(cust, rng, n) * self.mcc_scale[self.m_mcc[merch]]
        big = rng.random(n) < 0.01
        amount[big] *= rng.uniform(4, 20, big.sum())
        tiny = rng.random(n) < 0.004  # verification holds and small top-ups look like tests
        amount[tiny] = rng.uniform(0.5, 3, tiny.sum())
        channel = self._channel_for(merch, rng)
        online = _CHANNELS[channel] == "online"
        lat = np.where(online, self.c_lat[cust], self.m_lat[merch])
        lon = np.where(online, self.c_lon[cust], self.m_lon[merch])
        device = cust * 4 + rng.integers(0, self.c_devices[cust])
        new_device = rng.random(n) < 0.02
        device[new_device] = cust[new_device] * 4 + 2 + rng.integers(0, 2, new_device.sum())
        terminal = merch * 8 + rng.integers(0, self.m_terminals[merch])
        return self._rows(t, cust, merch, amount, channel, lat, lon, device, terminal, -1)

    def retire_bust_out_merchants(self, frame: pd.DataFrame, rng: np.random.Generator) -> None:
        """After a bust-out the merchant is gone: its later legit traffic goes to a neighbour."""
        for merch, end in self.bust_out:
            sel = np.flatnonzero(
                (frame["merch"].to_numpy() == merch)
                & (frame["t"].to_numpy() > end)
                & (frame["scenario"].to_numpy() < 0)
            )
            members = self.by_city[self.m_city[merch]]
            members = members[members != merch]
            if len(sel) == 0 or len(members) == 0:
                continue
            new = members[rng.integers(0, len(members), len(sel))]
            frame.loc[sel, "merch"] = new
            frame.loc[sel, "terminal"] = new * 8

    def finish(self, frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        cfg = self.config
        n = len(frame)
        merch = frame["merch"].to_numpy()
        cust = frame["cust"].to_numpy()
        scen = frame["scenario"].to_numpy()
        fraud = scen >= 0
        start = pd.Timestamp(cfg.start).tz_convert("UTC") if cfg.start.tzinfo else None
        start = start if start is not None else pd.Timestamp(cfg.start, tz="UTC")
        ts = start + pd.to_timedelta(np.round(frame["t"].to_numpy()), unit="s")
        # Fraud labels: most reported within days, a share only by chargeback weeks later.
        delay = rng.exponential(cfg.label_delay_days_mean, n)
        chargeback = rng.random(n) < cfg.chargeback_share
        delay[chargeback] = rng.uniform(20, 60, chargeback.sum())
        delay[~fraud] = cfg.legit_label_days
        label_time = ts + pd.to_timedelta(delay * 86400.0, unit="s")
        ids = np.char.add("C", np.char.zfill(np.arange(cfg.n_customers).astype(str), 6))
        mids = np.char.add("M", np.char.zfill(np.arange(cfg.n_merchants).astype(str), 5))
        out = pd.DataFrame(
            {
                "transaction_id": pd.Series(np.arange(n)).map("T{:09d}".format),
                "timestamp": pd.Series(ts).astype("datetime64[ns, UTC]"),
                "customer_id": ids[cust],
                "amount": frame["amount"].to_numpy(),
                "currency": self.city_currency[self.m_city[merch]],
                "merchant_id": mids[merch],
                "mcc": np.array([m[0] for m in _MCCS])[self.m_mcc[merch]],
                "terminal_id": pd.Series(frame["terminal"].to_numpy()).map("TM{:07d}".format),
                "country": self.city_country[self.m_city[merch]],
                "channel": _CHANNELS[frame["channel"].to_numpy()],
                "device_id": pd.Series(frame["device"].to_numpy()).map("D{:08d}".format),
                "lat": np.round(frame["lat"].to_numpy(), 4),
                "lon": np.round(frame["lon"].to_numpy(), 4),
                "is_fraud": pd.array(fraud.astype(np.int8), dtype="Int8"),
                "label_time": pd.Series(label_time).astype("datetime64[ns, UTC]"),
                "fraud_scenario": np.where(fraud, np.array(SCENARIOS)[scen.clip(0)], "none"),
            }
        )
        if cfg.with_pan:
            out["pan"] = _card_numbers(cfg.seed, cfg.n_customers)[cust]
        return out

    # -- fraud scenarios -----------------------------------------------------------------
    def _random_time(self, rng, margin_days: float = 3.0) -> float:
        # A scenario starts early enough to play out before the end; a simulation shorter
        # than twice that margin lets it start anywhere in its first half instead.
        high = max(self.span - margin_days * 86400.0, 0.5 * self.span)
        return float(rng.uniform(0, high))

    def card_testing(self, rng: np.random.Generator, quota: int) -> pd.DataFrame:
        """Bursts of tiny online charges on one card, sometimes cashed out with a larger one."""
        parts, made = [], 0
        online = np.flatnonzero(np.isin(self.m_mcc, [10, 11, 12]))
        online = online if len(online) else np.arange(self.config.n_merchants)
        while made < quota:
            cust = rng.integers(self.config.n_customers)
            k = int(min(rng.integers(3, 25), quota - made))
            t0 = self._random_time(rng)
            t = t0 + np.cumsum(rng.exponential(rng.uniform(10, 300), k))
            shops = rng.choice(online, rng.integers(1, 4))
            merch = shops[rng.integers(0, len(shops), k)]
            amount = rng.uniform(0.5, rng.uniform(2, 12), k)
            if k > 3 and rng.random() < 0.4:
                amount[-1] = self._typical(cust, rng) * rng.uniform(2, 6)
            device = 10_000_000 + rng.integers(0, 1_000_000)
            lat = self.city_lat[rng.integers(len(_CITIES))]
            lon = self.city_lon[rng.integers(len(_CITIES))]
            parts.append(self._rows(t, cust, merch, amount, 2, lat, lon, device, merch * 8, 0))
            made += k
        return pd.concat(parts, ignore_index=True)

    def account_takeover(self, rng: np.random.Generator, quota: int) -> pd.DataFrame:
        """New device and location, online, amounts rising over a few days."""
        parts, made = [], 0
        while made < quota:
            cust = rng.integers(self.config.n_customers)
            k = int(min(rng.integers(2, 10), quota - made))
            t = self._random_time(rng) + np.sort(rng.uniform(0, rng.uniform(0.5, 5) * 86400, k))
            city = self.c_city[cust] if rng.random() < 0.4 else rng.integers(len(_CITIES))
            members = self.by_city[city]
            merch = members[rng.integers(0, len(members), k)]
            growth = rng.uniform(1.1, 1.8)
            amount = self._typical(cust, rng) * growth ** np.arange(k) * rng.uniform(0.8, 1.2, k)
            device = 10_000_000 + rng.integers(0, 1_000_000)
            lat = self.city_lat[city] + rng.normal(0, 0.1)
            lon = self.city_lon[city] + rng.normal(0, 0.1)
            parts.append(self._rows(t, cust, merch, amount, 2, lat, lon, device, merch * 8, 1))
            made += k
        return pd.concat(parts, ignore_index=True)

    def compromised_terminal(self, rng: np.random.Generator, quota: int) -> pd.DataFrame:
        """One terminal charges many different cards over days, at odd hours now and then."""
        parts, made = [], 0
        physical = np.flatnonzero(self.mcc_channels[self.m_mcc][:, 2] < 0.5)
        physical = physical if len(physical) else np.arange(self.config.n_merchants)
        while made < quota:
            merch = rng.choice(physical)
            terminal = merch * 8 + rng.integers(0, self.m_terminals[merch])
            k = int(min(rng.integers(10, 80), quota - made))
            t0 = self._random_time(rng, 12)
            # Over days, but never past the end (binds only in simulations under 22 days).
            days = min(rng.uniform(2, 10) * 86400, self.span - 1.0 - t0)
            t = t0 + rng.uniform(0, days, k)
            cust = rng.integers(0, self.config.n_customers, k)
            amount = rng.lognormal(np.log(rng.uniform(40, 250)), 0.5, k)
            channel = rng.choice([0, 1], k)
            lat, lon = self.m_lat[merch], self.m_lon[merch]
            device = cust * 4
            parts.append(self._rows(t, cust, merch, amount, channel, lat, lon, device, terminal, 2))
            made += k
        return pd.concat(parts, ignore_index=True)

    def stolen_card(self, rng: np.random.Generator, quota: int) -> pd.DataFrame:
        """A card used in person far from home, several shops within a day or two."""
        parts, made = [], 0
        risky = np.isin(self.m_mcc, [3, 4, 7, 8, 13])  # fuel, stores, electronics, jewelry, ATM
        while made < quota:
            cust = rng.integers(self.config.n_customers)
            far = np.flatnonzero(self.city_country != self.city_country[self.c_city[cust]])
            city = rng.choice(far) if rng.random() < 0.7 else rng.integers(len(_CITIES))
            members = self.by_city[city]
            pool = members[risky[members]] if risky[members].any() else members
            k = int(min(rng.integers(1, 8), quota - made))
            merch = pool[rng.integers(0, len(pool), k)]
            t = self._random_time(rng) + np.sort(rng.uniform(0, rng.uniform(0.2, 2) * 86400, k))
            amount = self._typical(cust, rng, k) * self.mcc_scale[self.m_mcc[merch]]
            amount *= rng.uniform(1, 3)
            channel = np.where(self.m_mcc[merch] == 13, 3, rng.choice([0, 1], k))
            parts.append(
                self._rows(
                    t,
                    cust,
                    merch,
                    amount,
                    channel,
                    self.m_lat[merch],
                    self.m_lon[merch],
                    cust * 4,
                    merch * 8,
                    3,
                )
            )
            made += k
        return pd.concat(parts, ignore_index=True)

    def merchant_bust_out(self, rng: np.random.Generator, quota: int) -> pd.DataFrame:
        """An established merchant suddenly pushes many large charges, then disappears."""
        parts, made = [], 0
        while made < quota:
            merch = int(rng.integers(self.config.n_merchants))
            k = int(min(rng.integers(15, 120), quota - made))
            t0 = rng.uniform(0.4 * self.span, self.span - 4 * 86400)
            t = t0 + rng.uniform(0, rng.uniform(1, 3) * 86400, k)
            cust = rng.integers(0, self.config.n_customers, k)
            scale = self.mcc_scale[self.m_mcc[merch]] * rng.uniform(2, 8)
            amount = self._typical(cust, rng, k) * scale
            channel = self._channel_for(np.full(k, merch), rng)
            self.bust_out.append((merch, float(t.max())))
            parts.append(
                self._rows(
                    t,
                    cust,
                    merch,
                    amount,
                    channel,
                    self.m_lat[merch],
                    self.m_lon[merch],
                    cust * 4,
                    merch * 8,
                    4,
                )
            )
            made += k
        return pd.concat(parts, ignore_index=True)


_SCENARIO_FUNCS = (
    _World.card_testing,
    _World.account_takeover,
    _World.compromised_terminal,
    _World.stolen_card,
    _World.merchant_bust_out,
)


def _card_numbers(seed: int, n: int) -> np.ndarray:
    """Luhn-valid 16-digit test card numbers (prefix 4), one per customer."""
    rng = np.random.default_rng([seed, 4111])
    body = np.concatenate(
        [np.full((n, 1), 4), rng.integers(0, 10, (n, 14))], axis=1
    )  # [cards, 15 digits]
    # Luhn: double every second digit from the right of the final 16-digit number.
    doubled = body[:, -1::-2] * 2
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    total = doubled.sum(axis=1) + body[:, -2::-2].sum(axis=1)
    check = (10 - total % 10) % 10
    digits = np.concatenate([body, check[:, None]], axis=1).astype(str)
    return np.array(["".join(row) for row in digits])
