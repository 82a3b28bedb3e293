"""Bank-transaction anomaly scoring: robust statistics and rules first, an IsolationForest second.

Input: rows of intermediate.int_cashflow__bank_txn_features (one per bank line). Output: one score in 0..1 per
line plus the reasons. Why this mix:
  * rules name the reason a controller can act on (weekend booking, duplicate, unknown payee, a debit
    with no payment document to a payee normally paid against invoices);
  * the median/MAD z-score of log(|amount|) per counterparty catches amounts far outside a payee's
    habit without being dragged by the very outliers it looks for (a mean/std would be);
  * the IsolationForest covers combinations no rule names; its score is capped below the rule scores
    so it ranks, but alone rarely crosses the alert threshold.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

FEATURES = ["log_abs_amount", "amount_robust_z", "is_weekend", "is_first", "cp_share_with_payment_record",
            "has_payment_record", "is_duplicate"]


@dataclass(frozen=True)
class ScoringConfig:
    z_threshold: float = 4.0  # robust z beyond which an amount is "unusual" for its counterparty
    min_history: int = 5  # a counterparty needs this many lines before its own median/MAD is trusted
    mad_floor: float = 0.05  # log-scale spread floor: recurring fixed amounts (rent) have MAD 0
    isolation_weight: float = 0.6  # the forest's share of the final score when no rule fired
    n_estimators: int = 200
    contamination: float = 0.01
    seed: int = 0


RULE_SCORES = {  # how sure each rule alone makes us (the alert threshold defaults to 0.7)
    "duplicate": 0.95,
    "weekend_booking": 0.85,
    "new_counterparty": 0.8,
    "no_payment_document": 0.75,
}


def robust_z(features: pd.DataFrame, config: ScoringConfig) -> np.ndarray:
    """z of log(|amount|) against the counterparty's median/MAD (direction-wide when its history is short)."""
    x = features["log_abs_amount"].to_numpy(dtype=float)
    own_med = features["cp_median_log_abs_amount"].to_numpy(dtype=float)
    own_mad = features["cp_mad_log_abs_amount"].to_numpy(dtype=float)
    by_dir = features.groupby("direction")["log_abs_amount"]
    dir_med = by_dir.transform("median").to_numpy(dtype=float)
    dir_mad = features.assign(dev=(features["log_abs_amount"] - dir_med).abs()).groupby("direction")["dev"] \
        .transform("median").to_numpy(dtype=float)
    short = features["cp_n_txns"].to_numpy() < config.min_history
    med = np.where(short, dir_med, own_med)
    mad = np.maximum(np.where(short, dir_mad, own_mad), config.mad_floor)
    return (x - med) / (1.4826 * mad)


def rule_flags(features: pd.DataFrame, z: np.ndarray, config: ScoringConfig) -> pd.DataFrame:
    debit = (features["direction"] == "debit").to_numpy()
    paid = features["has_payment_record"].to_numpy(dtype=bool)
    return pd.DataFrame({
        "is_unusual_amount": (np.abs(z) >= config.z_threshold) & (features["cp_n_txns"].to_numpy() >= config.min_history),
        # a one-off payee with no invoice behind it; recurring payees (payroll, tax office) are seen again
        "is_new_counterparty": features["is_first_for_counterparty"].to_numpy(dtype=bool) & debit & ~paid
                               & (features["cp_n_txns"].to_numpy() <= 2),
        "is_odd_timing": features["iso_day_of_week"].to_numpy() >= 6,
        "is_duplicate_candidate": features["duplicate_of_txn_id"].notna().to_numpy(),
        "is_without_payment_record": debit & ~paid
                                     & (features["cp_share_with_payment_record"].fillna(0).to_numpy() >= 0.5),
    }, index=features.index)


def isolation_scores(matrix: np.ndarray, config: ScoringConfig) -> tuple[np.ndarray, IsolationForest]:
    """IsolationForest outlyingness rescaled to 0..1 by rank (robust to the forest's arbitrary scale)."""
    forest = IsolationForest(n_estimators=config.n_estimators, contamination=config.contamination,
                             random_state=config.seed).fit(matrix)
    raw = -forest.score_samples(matrix)
    ranks = pd.Series(raw).rank(pct=True).to_numpy()
    return ranks, forest


def feature_matrix(features: pd.DataFrame, z: np.ndarray) -> np.ndarray:
    return np.column_stack([
        features["log_abs_amount"].fillna(0).to_numpy(dtype=float),
        np.clip(z, -20, 20),
        (features["iso_day_of_week"].to_numpy() >= 6).astype(float),
        features["is_first_for_counterparty"].to_numpy(dtype=float),
        features["cp_share_with_payment_record"].fillna(0).to_numpy(dtype=float),
        features["has_payment_record"].to_numpy(dtype=float),
        features["duplicate_of_txn_id"].notna().to_numpy(dtype=float),
    ])


REASONS = ("duplicate of an earlier line", "weekend booking", "new counterparty", "no payment document",
           "unusual amount for counterparty")


def rule_part(flags: pd.DataFrame, z: np.ndarray, config: ScoringConfig) -> tuple[np.ndarray, list[str | None]]:
    """The rule half of the score: per line the highest rule score that fired (0 when none) and the reasons
    (comma-separated, in REASONS order; None when none fired). ``flags`` is ``rule_flags``'s frame; unusual
    amounts score by how unusual (z=4 -> 0.7, z>=8 -> 0.95). Real-time scoring of single lines uses this
    half alone (the IsolationForest ranks within a whole batch)."""
    amount_score = np.where(flags["is_unusual_amount"], np.clip(0.7 + (np.abs(z) - config.z_threshold) / 16, 0.7, 0.95), 0.0)
    rule_matrix = np.column_stack([
        np.where(flags["is_duplicate_candidate"], RULE_SCORES["duplicate"], 0.0),
        np.where(flags["is_odd_timing"], RULE_SCORES["weekend_booking"], 0.0),
        np.where(flags["is_new_counterparty"], RULE_SCORES["new_counterparty"], 0.0),
        np.where(flags["is_without_payment_record"], RULE_SCORES["no_payment_document"], 0.0),
        amount_score,
    ])
    reasons = np.array(REASONS, dtype=object)
    fired = rule_matrix > 0
    return rule_matrix.max(axis=1), [", ".join(reasons[row]) if row.any() else None for row in fired]


@dataclass
class Scored:
    scores: pd.DataFrame  # finance_bank_txn_id, anomaly_score, amount_robust_z, isolation_score, flags, reason
    forest: IsolationForest | None


def score(features: pd.DataFrame, config: ScoringConfig = ScoringConfig()) -> Scored:
    features = features.reset_index(drop=True)
    if features.empty:
        cols = ["finance_bank_txn_id", "anomaly_score", "amount_robust_z", "isolation_score", "is_unusual_amount",
                "is_new_counterparty", "is_odd_timing", "is_duplicate_candidate", "is_without_payment_record",
                "anomaly_reason"]
        return Scored(pd.DataFrame(columns=cols), None)
    z = robust_z(features, config)
    flags = rule_flags(features, z, config)
    iso, forest = isolation_scores(feature_matrix(features, z), config) if len(features) >= 10 else \
        (np.zeros(len(features)), None)
    rule_score, reason = rule_part(flags, z, config)
    final = np.maximum(rule_score, config.isolation_weight * iso)
    out = pd.DataFrame({"finance_bank_txn_id": features["finance_bank_txn_id"], "anomaly_score": np.round(final, 4),
                        "amount_robust_z": np.round(z, 4), "isolation_score": np.round(iso, 4)})
    out = pd.concat([out, flags.reset_index(drop=True)], axis=1)
    out["anomaly_reason"] = reason
    return Scored(out, forest)
