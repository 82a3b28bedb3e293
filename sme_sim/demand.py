"""The demand process: the true expected daily demand per SKU and location, which sales realise.

mean = base * location share * trend * weekly * yearly seasonality * promotion uplift * regime.
Scenarios: stable; regime_change (from REGIME_START, 60% of products turn weekend-heavy with inverted yearly
seasonality and a level x1.6-2.4 or x0.35-0.6); regime_drop (the same, for every product, with the level
collapsing to REGIME_DROP_LEVEL).
Everything here is a closed-form function of (day, product, location), so any chunk of days can be
evaluated independently and the truth file can be written chunk by chunk.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from sme_sim.seeds import rng_for
from sme_sim.timeutil import N_DAYS, START, day_calendar

LINES_PER_DAY = 56.0  # at scale 1: ~41k sales order lines over two years
WEEKLY_B2B = np.array([1.2, 1.25, 1.2, 1.2, 1.05, 0.07, 0.03])
WEEKLY_SHIFTED = np.array([0.7, 0.75, 0.8, 0.9, 1.2, 1.6, 1.05])  # regime change: weekend-heavy
QTY_BY_CATEGORY = {"Fasteners": (6, 14), "Packaging": (5, 12), "Safety": (3, 8), "Hand Tools": (2, 4),
                   "Power Tools": (1.2, 2), "Workshop": (1.05, 1.4), "Electrical": (2, 5)}
REGIME_START = (dt.date(2025, 10, 1) - START).days
# regime_drop scenario: every product's level after REGIME_START, as a share of before (a regime_change's mix of
# rises and falls can leave a sparse series' WAPE better than before; a collapse degrades any forecaster's)
REGIME_DROP_LEVEL = (0.2, 0.35)


@dataclass
class Promotion:
    promotion_id: str
    product: int
    sku: str
    start: int
    end: int
    discount_pct: float
    uplift: float
    channel: str
    name: str


class DemandModel:
    def __init__(self, seed: int, scale: float, products: list[dict], n_loc: int, scenario: str):
        rng = rng_for(seed, "demand")
        P = len(products)
        self.P, self.L = P, n_loc
        raw = rng.lognormal(0, 1.0, P)
        self.lines_rate = raw / raw.sum() * LINES_PER_DAY * scale  # expected order lines / day (all locations)
        lo_hi = np.array([QTY_BY_CATEGORY[p["category"]] for p in products])
        self.mean_qty = rng.uniform(lo_hi[:, 0], lo_hi[:, 1])
        self.loc_share = rng.dirichlet([6.0, 4.5, 3.0], P)  # (P, L)
        self.trend = np.clip(rng.normal(0.05, 0.15, P), -0.35, 0.5)  # relative change per year
        self.amp = rng.uniform(0.0, 0.4, P)
        self.phase = rng.uniform(0, 365, P)
        wk = WEEKLY_B2B / WEEKLY_B2B.mean()
        self.weekly = np.tile(wk, (P, 1))
        self.regime = np.zeros(P, dtype=bool)
        self.regime_level = np.ones(P)
        if scenario in ("regime_change", "regime_drop"):
            self.regime = rng.random(P) < 0.6
            up = rng.random(P) < 0.5
            self.regime_level = np.where(self.regime, np.where(up, rng.uniform(1.6, 2.4, P), rng.uniform(0.35, 0.6, P)), 1.0)
        if scenario == "regime_drop":  # every product changes regime and its level collapses (a lost channel)
            self.regime = np.ones(P, dtype=bool)
            self.regime_level = rng.uniform(*REGIME_DROP_LEVEL, P)
        self.promotions = self._promotions(seed, products)
        self.uplift = np.ones((N_DAYS, P))
        self.promo_idx = np.full((N_DAYS, P), -1, dtype=np.int32)
        for k, pr in enumerate(self.promotions):
            self.uplift[pr.start:pr.end + 1, pr.product] = pr.uplift
            self.promo_idx[pr.start:pr.end + 1, pr.product] = k

    def _promotions(self, seed: int, products: list[dict]) -> list[Promotion]:
        rng = rng_for(seed, "promotions")
        out: list[Promotion] = []
        for p, prod in enumerate(products):
            day = int(rng.integers(10, 200))
            while day < N_DAYS - 5 and len(out) < 9999:
                dur = int(rng.integers(7, 22))
                disc = float(rng.choice([5, 10, 15, 20, 25, 30]))
                out.append(Promotion("", p, prod["sku"], day, min(day + dur - 1, N_DAYS - 1), disc,
                                     round(1 + disc / 100 * float(rng.uniform(3, 6)), 3),
                                     str(rng.choice(["email", "web", "retail", "social"])),
                                     f"{prod['product_name']} -{int(disc)}%"))
                day += dur + int(rng.integers(150, 600))
        out.sort(key=lambda pr: (pr.start, pr.sku))
        for k, pr in enumerate(out):
            pr.promotion_id = f"PROMO-{k + 1:04d}"
        return out

    def means(self, d0: int, d1: int) -> np.ndarray:
        """True mean demand in units, shape (days, P, L), for days d0..d1 inclusive."""
        cal = day_calendar()
        days = np.arange(d0, d1 + 1)
        dow, doy = cal["dow"][days], cal["doy"][days]
        t = days[:, None] / 365.0
        trend = np.clip(1 + self.trend[None, :] * t, 0.2, None)
        season = 1 + self.amp[None, :] * np.sin(2 * np.pi * (doy[:, None] - self.phase[None, :]) / 365.25)
        weekly = self.weekly[:, dow].T
        m = self.lines_rate[None, :] * self.mean_qty[None, :] * trend * season * weekly * self.uplift[days]
        if self.regime.any():
            after = days >= REGIME_START
            shifted = (WEEKLY_SHIFTED / WEEKLY_SHIFTED.mean())[dow]
            season_flip = 1 - self.amp[None, :] * np.sin(2 * np.pi * (doy[:, None] - self.phase[None, :]) / 365.25)
            alt = self.lines_rate[None, :] * self.mean_qty[None, :] * trend * season_flip * shifted[:, None] \
                * self.uplift[days] * self.regime_level[None, :]
            m = np.where(after[:, None] & self.regime[None, :], alt, m)
        return m[:, :, None] * self.loc_share[None, :, :]
