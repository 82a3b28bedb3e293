"""Merge and review thresholds chosen from the model's own match weights, not fixed numbers.

A Fellegi-Sunter model estimated on the data gives each candidate pair a posterior match probability p.
Taking those probabilities at face value, accepting the k most probable pairs has expected true positives
sum(p_1..p_k) and expected precision/recall against all expected matches M = sum(p): the expected F1 is
2 * sum(p_1..p_k) / (k + M). The merge threshold is the p of the pair where that is largest, but never
below 0.5 (a pair the model finds more likely apart than together is not merged). This is the plug-in
F1-optimal decision rule for calibrated scores (Lipton, Elkan & Naryanaswamy 2014, "Optimal thresholding of
classifiers to maximize F1 measure"), applied to Splink's probabilities.

The review band is the pairs just below the merge threshold: match weight within REVIEW_BAND_BITS (a
factor of 10 in the posterior odds) of it. A pair further below is ten times less likely a match than the
weakest merged one and is left apart; the queue holds only what a person could plausibly decide either way.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MIN_MERGE = 0.5
REVIEW_BAND_BITS = math.log2(10)


@dataclass(frozen=True)
class Thresholds:
    merge: float            # p >= merge: merged
    review: float           # review <= p < merge: queued for a person
    expected_matches: float  # M, sum of p over the candidate pairs
    expected_f1: float      # at the merge threshold, by the model's own probabilities
    source: str             # how it was chosen ("expected_f1" or "default: <why>")

    @property
    def merge_weight(self) -> float:
        """The merge threshold as a match weight (bits, log2 of the posterior odds)."""
        return _weight(self.merge)

    def describe(self) -> str:
        return (f"merge p>={self.merge:.4f} (weight {self.merge_weight:+.2f}), review p>={self.review:.4f}; "
                f"expected matches {self.expected_matches:.1f}, expected F1 {self.expected_f1:.3f} ({self.source})")


def _weight(p: float) -> float:
    p = min(max(p, 1e-12), 1 - 1e-12)
    return math.log2(p / (1 - p))


def _probability(weight: float) -> float:
    return 1.0 / (1.0 + 2.0 ** -weight)


def choose(probabilities: np.ndarray | list[float]) -> Thresholds:
    """Thresholds for one set of scored candidate pairs (any order; NaN not allowed -> ValueError).
    With no pairs, or none at or above 0.5, the merge threshold is 0.5 and nothing changes by it."""
    p = np.sort(np.asarray(probabilities, dtype=float))[::-1]
    if np.isnan(p).any():
        raise ValueError("match probabilities contain NaN")
    expected = float(p.sum())
    if len(p) == 0 or p[0] < MIN_MERGE:
        return Thresholds(MIN_MERGE, _probability(_weight(MIN_MERGE) - REVIEW_BAND_BITS), expected, 0.0,
                          "default: no pair with p >= 0.5")
    k = np.arange(1, len(p) + 1)
    f1 = 2 * np.cumsum(p) / (k + expected)
    eligible = p >= MIN_MERGE
    best = int(np.argmax(np.where(eligible, f1, -1.0)))
    merge = float(p[best])
    return Thresholds(merge, _probability(_weight(merge) - REVIEW_BAND_BITS), expected, float(f1[best]), "expected_f1")
