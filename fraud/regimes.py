"""Other simulator regimes: different fraud scenario mixes and different column sets.

The default regime (``fraud.simulate``) is the world the suite was designed in. These regimes
exist to measure whether a model generalises to files shaped differently (issue 16):

- ``terminal``: ids, time, amount and terminal only (``transaction_id, timestamp, customer_id,
  terminal_id, amount, is_fraud``); customers and terminals on a map, each customer using the
  terminals near home. Fraud: compromised terminals (most of a terminal's traffic for 2-6 weeks),
  compromised cards (a third of a card's charges for two weeks, at inflated amounts) and
  amount-threshold fraud (charges above a fixed amount). No ``label_time``: labels are known
  after the label delay.
- ``merchant``: merchants with a category and coordinates, customers with a home, city
  population and demographics (``category``, ``home_lat``, ``home_lon``, ``city_pop``, ``age``,
  ``gender`` pass through as extra columns). Fraud is category-driven: night-time online
  shopping sprees on accounts of older customers in small towns, skimmed cards tested at fuel
  pumps then used far from home, and in-person travel fraud.
- ``device``: device- and channel-rich (``channel``, ``device_id``, ``country``, ``currency``
  plus ``device_type``, ``ip_country``, ``email_domain``, ``account_age_days``). Fraud: device
  farms (one device on many accounts), card-testing bots, new-account fraud with disposable
  e-mail, and account takeover from a new device abroad.

Every regime is seeded (same config, same rows) and vectorised; all keep ``fraud_scenario``
(ground truth, never a feature) and the config's fraud-rate target.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

DAY_S = 86400.0
SCENARIOS: dict[str, tuple[str, ...]] = {
    "terminal": ("compromised_terminal", "compromised_card", "amount_threshold"),
    "merchant": ("night_net_spree", "skimmed_card", "travel_fraud"),
    "device": ("device_farm", "card_testing_bot", "new_account", "account_takeover"),
}
_SHARES = {
    "terminal": (0.45, 0.4, 0.15),
    "merchant": (0.5, 0.25, 0.25),
    "device": (0.3, 0.25, 0.2, 0.25),
}


def simulate_regime(config) -> pd.DataFrame:  # noqa: ANN001 (fraud.simulate.SimulationConfig)
    """Simulate ``config.regime`` (one of `SCENARIOS`), rows in time order."""
    rng = np.random.default_rng([config.seed, sorted(SCENARIOS).index(config.regime)])
    n_fraud = max(int(round(config.n_transactions * config.fraud_rate_target)), 10)
    k = len(SCENARIOS[config.regime])
    quotas = rng.multinomial(n_fraud - k, _SHARES[config.regime]) + 1
    return _BUILDERS[config.regime](config, rng, quotas)


def _timestamps(config, seconds: np.ndarray) -> pd.Series:
    start = pd.Timestamp(config.start)
    start = start.tz_convert("UTC") if start.tzinfo else start.tz_localize("UTC")
    return pd.Series(start + pd.to_timedelta(np.round(seconds), unit="s")).astype(
        "datetime64[ns, UTC]"
    )


def _finish(config, rng, cols: dict[str, np.ndarray], fraud_kind: np.ndarray, names, label_time):
    """Sort by time, add ids, labels and scenario names (``fraud_kind`` -1 = legit)."""
    t = np.minimum(cols.pop("t"), config.days * DAY_S - 1)
    order = np.argsort(t, kind="stable")
    n = len(t)
    out = {
        "transaction_id": pd.Series(np.arange(n)).map("X{:09d}".format),
        "timestamp": _timestamps(config, t[order]),
    }
    for name, values in cols.items():
        out[name] = np.asarray(values)[order]
    kind = fraud_kind[order]
    out["is_fraud"] = pd.array((kind >= 0).astype(np.int8), dtype="Int8")
    if label_time:
        delay = np.where(kind >= 0, rng.exponential(config.label_delay_days_mean, n), 30.0)
        out["label_time"] = _timestamps(config, t[order] + delay * DAY_S)
    out["fraud_scenario"] = np.where(kind >= 0, np.array(names)[kind.clip(0)], "none")
    return pd.DataFrame(out)


def _day_profile(config, rng, n: int) -> np.ndarray:
    """Day of each legit transaction: a weekly cycle, busier at the end of the week."""
    day = np.arange(config.days)
    w = np.array([0.9, 0.95, 1.0, 1.0, 1.2, 1.3, 0.8])[(day + config.start.weekday()) % 7]
    return rng.choice(config.days, n, p=w / w.sum()).astype(float)


def _mark(rows_sorted_by_key, key_sorted, lo_key, hi_key, p, rng, free):
    """Row indices among those with key in [lo_key, hi_key) picked with probability p."""
    a, b = np.searchsorted(key_sorted, [lo_key, hi_key])
    rows = rows_sorted_by_key[a:b]
    rows = rows[free[rows]]
    return rows[rng.random(len(rows)) < p]


# -- (a) ids, time, amount, terminal ---------------------------------------------------------
def _terminal(config, rng, quotas) -> pd.DataFrame:
    nc, nt = config.n_customers, config.n_merchants
    cxy = rng.uniform(0, 100, (nc, 2))
    txy = rng.uniform(0, 100, (nt, 2))
    favs = cKDTree(txy).query(cxy, k=10)[1]  # [customers, 10] terminals nearest home
    mean = rng.uniform(5, 100, nc)
    rate = rng.uniform(0.05, 4, nc)
    n_thr = int(quotas[2])
    n = config.n_transactions - n_thr
    cust = rng.choice(nc, n, p=rate / rate.sum())
    hour = rng.normal(12, 5, n)
    outside = (hour < 0) | (hour >= 24)
    hour[outside] = rng.uniform(0, 24, int(outside.sum()))
    t = _day_profile(config, rng, n) * DAY_S + hour * 3600
    term = favs[cust, rng.integers(0, 10, n)]
    amount = np.abs(rng.normal(mean[cust], mean[cust] / 2)) + 0.01
    kind = np.full(n, -1)
    span = config.days * DAY_S
    # Compromised terminals: from a random day, for 2-6 weeks, most of the terminal's charges.
    order = np.lexsort((t, term))
    key = term[order] * span + t[order]
    made, tries = 0, 0
    while made < quotas[0] and tries < 100_000:
        tries += 1
        tm, s = rng.integers(nt), rng.uniform(0, span)
        rows = _mark(
            order,
            key,
            tm * span + s,
            tm * span + s + rng.uniform(14, 42) * DAY_S,
            rng.uniform(0.6, 1.0),
            rng,
            kind < 0,
        )[: quotas[0] - made]
        kind[rows] = 0
        made += len(rows)
    # Compromised cards: for 14 days, a third of the card's charges, amounts x2-5.
    order = np.lexsort((t, cust))
    key = cust[order] * span + t[order]
    made, tries = 0, 0
    while made < quotas[1] and tries < 100_000:
        tries += 1
        c, s = rng.integers(nc), rng.uniform(0, span)
        rows = _mark(order, key, c * span + s, c * span + s + 14 * DAY_S, 1 / 3, rng, kind < 0)[
            : quotas[1] - made
        ]
        kind[rows] = 1
        amount[rows] *= rng.uniform(2, 5, len(rows))
        made += len(rows)
    # Amount-threshold fraud: charges above 220 at the card's usual terminals.
    tc = rng.choice(nc, n_thr)
    cols = {
        "t": np.concatenate([t, rng.uniform(0, span, n_thr)]),
        "customer_id": np.char.add("C", np.char.zfill(np.concatenate([cust, tc]).astype(str), 6)),
        "terminal_id": np.char.add(
            "T",
            np.char.zfill(
                np.concatenate([term, favs[tc, rng.integers(0, 10, n_thr)]]).astype(str), 6
            ),
        ),
        "amount": np.round(np.concatenate([amount, rng.uniform(220, 600, n_thr)]), 2),
    }
    kind = np.concatenate([kind, np.full(n_thr, 2)])
    return _finish(config, rng, cols, kind, SCENARIOS["terminal"], label_time=False)


# -- (b) merchants, categories, coordinates, demographics -------------------------------------
# (category, weight, log-amount mean, log-amount sd, online)
_CATEGORIES = [
    ("grocery_pos", 14, 4.0, 0.5, False),
    ("gas_transport", 12, 3.8, 0.4, False),
    ("home", 10, 3.6, 0.9, False),
    ("shopping_pos", 9, 3.7, 1.0, False),
    ("kids_pets", 9, 3.5, 0.9, False),
    ("shopping_net", 8, 3.7, 1.0, True),
    ("entertainment", 7, 3.6, 0.9, False),
    ("food_dining", 7, 3.4, 0.8, False),
    ("personal_care", 7, 3.4, 0.9, False),
    ("health_fitness", 6, 3.6, 0.8, False),
    ("misc_pos", 6, 3.5, 1.0, False),
    ("misc_net", 5, 3.3, 1.0, True),
    ("grocery_net", 4, 3.8, 0.5, True),
    ("travel", 3, 4.5, 1.5, False),
]


def _merchant(config, rng, quotas) -> pd.DataFrame:
    nc, nm, ncity = config.n_customers, config.n_merchants, 60
    city_pop = np.round(rng.lognormal(9.5, 1.6, ncity)).astype(np.int64) + 200
    city_xy = np.column_stack([rng.uniform(30, 47, ncity), rng.uniform(-120, -75, ncity)])
    w = np.sqrt(city_pop) / np.sqrt(city_pop).sum()
    c_city = rng.choice(ncity, nc, p=w)
    home = city_xy[c_city] + rng.normal(0, 0.3, (nc, 2))
    age = np.clip(rng.normal(46, 17, nc), 18, 95).astype(np.int64)
    gender = rng.choice(np.array(["F", "M"]), nc)
    activity = rng.lognormal(0, 0.7, nc)
    cw = np.array([c[1] for c in _CATEGORIES], dtype=float)
    m_cat = rng.choice(len(_CATEGORIES), nm, p=cw / cw.sum())
    m_xy = city_xy[rng.choice(ncity, nm, p=w)] + rng.normal(0, 0.5, (nm, 2))
    favs = cKDTree(m_xy).query(home, k=20)[1]  # [customers, 20] merchants near home
    mu = np.array([c[2] for c in _CATEGORIES])
    sd = np.array([c[3] for c in _CATEGORIES])
    online = np.array([c[4] for c in _CATEGORIES])
    cat_idx = {c[0]: i for i, c in enumerate(_CATEGORIES)}
    n_fraud = int(quotas.sum())
    n = config.n_transactions - n_fraud
    cust = rng.choice(nc, n, p=activity / activity.sum())
    merch = favs[cust, rng.integers(0, 20, n)]
    away = rng.random(n) < 0.1  # anywhere: online shops, trips
    merch[away] = rng.integers(0, nm, int(away.sum()))
    hour = np.mod(rng.normal(14, 4, n), 24)
    t = _day_profile(config, rng, n) * DAY_S + hour * 3600
    amount = np.exp(mu[m_cat[merch]] + sd[m_cat[merch]] * rng.normal(size=n))
    parts = [(t, cust, merch, amount, np.full(n, -1))]
    span = config.days * DAY_S
    # Victims: older customers in small towns are targeted more (the demographic columns matter).
    victim_w = (1 + (age > 65) * 5.0) * (1 + (city_pop[c_city] < 20_000) * 2.0)
    victim_p = victim_w / victim_w.sum()
    net = np.flatnonzero(online[m_cat])
    # Night-time online spree: 3-12 charges over 1-3 nights, high amounts by category.
    made = 0
    while made < quotas[0]:
        c, k = rng.choice(nc, p=victim_p), int(min(rng.integers(3, 13), quotas[0] - made))
        nights = rng.uniform(0, span - 4 * DAY_S) // DAY_S + rng.integers(0, 3, k)
        tt = nights * DAY_S + np.mod(rng.uniform(22, 27, k), 24) * 3600
        mm = rng.choice(net, k)
        cat = m_cat[mm]
        amt = np.where(
            cat == cat_idx["shopping_net"],
            rng.uniform(700, 1200, k),
            np.where(
                cat == cat_idx["misc_net"], rng.uniform(600, 1000, k), rng.uniform(250, 350, k)
            ),
        )
        parts.append((tt, np.full(k, c), mm, amt, np.full(k, 0)))
        made += k
    # Skimmed card: 1-3 small fuel charges, then in-person purchases in another city.
    gas = np.flatnonzero(m_cat == cat_idx["gas_transport"])
    shops = np.flatnonzero(np.isin(m_cat, [cat_idx["shopping_pos"], cat_idx["misc_pos"]]))
    made = 0
    while made < quotas[1]:
        c, t0 = rng.choice(nc, p=victim_p), rng.uniform(0, span - 3 * DAY_S)
        g, s = int(rng.integers(1, 4)), int(rng.integers(1, 5))
        far = shops[np.hypot(*(m_xy[shops] - home[c]).T) > 5]
        far = far if len(far) else shops
        mm = np.concatenate([rng.choice(gas, g), rng.choice(far, s)])[: quotas[1] - made]
        k = len(mm)
        tt = t0 + np.sort(rng.uniform(0, 2 * DAY_S, k))
        amt = np.concatenate([rng.uniform(1, 20, g), rng.uniform(200, 1500, s)])[:k]
        parts.append((tt, np.full(k, c), mm, amt, np.full(k, 1)))
        made += k
    # Travel fraud: a card used in person far from home, travel and restaurants, normal hours.
    travel = np.flatnonzero(np.isin(m_cat, [cat_idx["travel"], cat_idx["food_dining"]]))
    made = 0
    while made < quotas[2]:
        c, k = rng.integers(nc), int(min(rng.integers(1, 6), quotas[2] - made))
        far = travel[np.hypot(*(m_xy[travel] - home[c]).T) > 8]
        mm = rng.choice(far if len(far) else travel, k)
        tt = rng.uniform(0, span - 2 * DAY_S) + np.sort(rng.uniform(0, DAY_S, k))
        amt = np.exp(mu[m_cat[mm]] + sd[m_cat[mm]] * rng.normal(size=k)) * rng.uniform(1.5, 4)
        parts.append((tt, np.full(k, c), mm, amt, np.full(k, 2)))
        made += k
    t, cust, merch, amount, kind = (np.concatenate(p) for p in zip(*parts, strict=True))
    cols = {
        "t": t,
        "customer_id": np.char.add("C", np.char.zfill(cust.astype(str), 6)),
        "merchant_id": np.char.add("M", np.char.zfill(merch.astype(str), 5)),
        "category": np.array([c[0] for c in _CATEGORIES])[m_cat[merch]],
        "amount": np.round(amount, 2),
        "lat": np.round(m_xy[merch, 0], 4),
        "lon": np.round(m_xy[merch, 1], 4),
        "home_lat": np.round(home[cust, 0], 4),
        "home_lon": np.round(home[cust, 1], 4),
        "city_pop": city_pop[c_city[cust]],
        "age": age[cust],
        "gender": gender[cust],
    }
    return _finish(config, rng, cols, kind, SCENARIOS["merchant"], label_time=True)


# -- (c) devices and channels -----------------------------------------------------------------
_COUNTRIES = np.array(["US", "GB", "DE", "FR", "ES", "BR", "IN", "NG"])
_CURRENCIES = np.array(["USD", "GBP", "EUR", "EUR", "EUR", "BRL", "INR", "NGN"])
_EMAILS = np.array(["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me"])
_DISPOSABLE = np.array(["mailinator.com", "tempmail.io", "10minute.mail"])
_CHANNELS = np.array(["app", "web", "pos", "atm"])
_DEVICE_TYPES = np.array(["ios", "android", "desktop", "pos"])


def _device(config, rng, quotas) -> pd.DataFrame:
    nc, nm = config.n_customers, config.n_merchants
    c_country = rng.choice(len(_COUNTRIES), nc, p=[0.3, 0.15, 0.12, 0.1, 0.08, 0.1, 0.1, 0.05])
    c_email = rng.choice(_EMAILS, nc, p=[0.45, 0.2, 0.15, 0.15, 0.05])
    c_age0 = rng.integers(30, 3000, nc)
    c_online = rng.beta(2, 2, nc)  # share of the customer's spending that is app/web
    c_dev_type = rng.integers(0, 3, (nc, 2))  # two own devices
    activity = rng.lognormal(0, 0.7, nc)
    mu = rng.normal(3.3, 0.6, nc)
    m_country = rng.choice(len(_COUNTRIES), nm)
    m_online = rng.random(nm) < 0.4
    n_fraud = int(quotas.sum())
    n = config.n_transactions - n_fraud
    cust = rng.choice(nc, n, p=activity / activity.sum())
    on = rng.random(n) < c_online[cust]
    channel = np.where(on, rng.integers(0, 2, n), np.where(rng.random(n) < 0.9, 2, 3))
    online_m, local_m = np.flatnonzero(m_online), np.flatnonzero(~m_online)
    merch = np.where(on, rng.choice(online_m, n), rng.choice(local_m, n))
    own = rng.integers(0, 2, n)
    dev = np.where(on, cust * 2 + own, -1 - merch)  # in person: the merchant's terminal
    dev_type = np.where(on, c_dev_type[cust, own], 3)
    ip = np.where(on & (rng.random(n) < 0.04), rng.integers(0, len(_COUNTRIES), n), c_country[cust])
    country = np.where(
        on, m_country[merch], np.where(rng.random(n) < 0.03, m_country[merch], c_country[cust])
    )
    t = _day_profile(config, rng, n) * DAY_S + np.mod(rng.normal(15, 4, n), 24) * 3600
    amount = np.exp(mu[cust] + 0.8 * rng.normal(size=n))
    email = c_email[cust]
    kind = np.full(n, -1)
    parts = [(t, cust, merch, amount, channel, dev, dev_type, ip, country, email, kind)]
    span = config.days * DAY_S
    big_dev = 10**7

    def add(k, tt, cc, mm, amt, ch, dv, dt, ipc, ctry, em, kd):
        full = lambda v: np.broadcast_to(v, k)  # noqa: E731
        parts.append(tuple(full(v) for v in (tt, cc, mm, amt, ch, dv, dt, ipc, ctry, em, kd)))

    # Device farm: one emulator on many accounts within days, app channel, one foreign IP.
    made = 0
    while made < quotas[0]:
        k = int(min(rng.integers(8, 40), quotas[0] - made))
        tt = rng.uniform(0, span - 4 * DAY_S) + rng.uniform(0, rng.uniform(0.5, 3) * DAY_S, k)
        cc = rng.integers(0, nc, k)
        ipc = rng.integers(len(_COUNTRIES))
        add(
            k,
            tt,
            cc,
            rng.choice(online_m, k),
            np.exp(mu[cc] + rng.uniform(0.5, 1.5, k)),
            0,
            big_dev + rng.integers(10**6),
            1,
            ipc,
            m_country[rng.choice(online_m)],
            c_email[cc],
            0,
        )
        made += k
    # Card-testing bot: a burst of tiny web charges from one new desktop, minutes apart.
    made = 0
    while made < quotas[1]:
        k, c = int(min(rng.integers(4, 25), quotas[1] - made)), rng.integers(nc)
        tt = rng.uniform(0, span - DAY_S) + np.cumsum(rng.exponential(60, k))
        mm = rng.choice(online_m, rng.integers(1, 4))
        add(
            k,
            tt,
            c,
            rng.choice(mm, k),
            rng.uniform(0.5, 5, k),
            1,
            big_dev + rng.integers(10**6),
            2,
            rng.integers(len(_COUNTRIES)),
            m_country[mm[0]],
            c_email[c],
            1,
        )
        made += k
    # New-account fraud: accounts days old, disposable e-mail, a few large online purchases.
    made, new_c = 0, nc
    while made < quotas[2]:
        k = int(min(rng.integers(1, 5), quotas[2] - made))
        tt = rng.uniform(0, span - 2 * DAY_S) + np.sort(rng.uniform(0, DAY_S, k))
        add(
            k,
            tt,
            new_c,
            rng.choice(online_m, k),
            rng.uniform(300, 2000, k),
            rng.integers(0, 2),
            big_dev + rng.integers(10**6),
            rng.integers(0, 3),
            rng.integers(len(_COUNTRIES)),
            m_country[rng.choice(online_m)],
            rng.choice(_DISPOSABLE),
            2,
        )
        made, new_c = made + k, new_c + 1
    # Account takeover: the victim's account from a new device type abroad, rising amounts.
    made = 0
    while made < quotas[3]:
        k, c = int(min(rng.integers(2, 8), quotas[3] - made)), rng.integers(nc)
        tt = rng.uniform(0, span - 3 * DAY_S) + np.sort(rng.uniform(0, 2 * DAY_S, k))
        foreign = (c_country[c] + rng.integers(1, len(_COUNTRIES))) % len(_COUNTRIES)
        amt = np.exp(mu[c]) * rng.uniform(1.2, 2.0) ** np.arange(1, k + 1)
        add(
            k,
            tt,
            c,
            rng.choice(online_m, k),
            amt,
            0,
            big_dev + rng.integers(10**6),
            (c_dev_type[c, 0] + 1) % 3,
            foreign,
            m_country[rng.choice(online_m)],
            c_email[c],
            3,
        )
        made += k
    t, cust, merch, amount, channel, dev, dev_type, ip, country, email, kind = (
        np.concatenate(p) for p in zip(*parts, strict=True)
    )
    known = cust < nc  # new-account fraud invents customers beyond the population
    account_age = np.where(
        known,
        c_age0[np.minimum(cust, nc - 1)] + (t // DAY_S).astype(np.int64),
        rng.integers(0, 4, len(t)),
    )
    cols = {
        "t": t,
        "customer_id": np.char.add("C", np.char.zfill(cust.astype(str), 6)),
        "merchant_id": np.char.add("M", np.char.zfill(merch.astype(str), 5)),
        "amount": np.round(
            amount * np.array([1, 0.79, 0.92, 0.92, 0.92, 5.0, 83.0, 1500.0])[country], 2
        ),
        "currency": _CURRENCIES[country],
        "country": _COUNTRIES[country],
        "channel": _CHANNELS[channel],
        "device_id": np.where(
            dev >= 0,
            pd.Series(dev).map("D{:08d}".format).to_numpy(),
            pd.Series(-1 - dev).map("P{:06d}".format).to_numpy(),
        ),
        "device_type": _DEVICE_TYPES[dev_type],
        "ip_country": _COUNTRIES[ip],
        "email_domain": email,
        "account_age_days": account_age,
    }
    return _finish(config, rng, cols, kind, SCENARIOS["device"], label_time=True)


_BUILDERS: dict[str, Callable[..., pd.DataFrame]] = {
    "terminal": _terminal,
    "merchant": _merchant,
    "device": _device,
}
