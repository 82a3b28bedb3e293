"""Pair features for the invoice_match_scorer, computed from intermediate.int_ap_recon__candidates.

The dbt model holds the raw comparisons; this module turns them into the model's numeric matrix and builds the
bootstrap training set. Weak labels only, never ground truth:
  positives : confident rule matches (quoted PO, same supplier, quantities and amounts agree)
  negatives : every other candidate PO of the same invoices (hard negatives: same supplier, same weeks)
Rule matches all quote their PO exactly, so a model trained on them as they are would learn "trust the quoted
PO" and nothing else. Each positive invoice is therefore also shown with its reference removed, mistyped and
pointing at another candidate PO (the reference features recomputed), so the scorer learns to find the PO from
amounts, receipts, dates and the supplier when the reference is missing or wrong.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cpdist

FEATURES = [
    "ref_missing", "ref_exact", "ref_edit_distance", "same_supplier", "vendor_name_similarity", "same_currency",
    "has_receipt", "abs_log_amount_ratio", "abs_log_quantity_ratio", "abs_log_po_amount_ratio", "date_gap_days",
    "date_in_window", "amount_rank", "n_candidates", "duplicate_signal",
]
NO_REF_DISTANCE = 9  # PO numbers have 9 characters: "no reference" is as far as any reference can be
_MISSING_RATIO = 5.0  # |log ratio| for "nothing to compare with": far beyond any real mismatch


def levenshtein(a: str, b: str) -> int:
    """Plain edit distance of two strings (same definition as DuckDB's levenshtein), from rapidfuzz."""
    return int(Levenshtein.distance(a, b))


def edit_distances(references: pd.Series, po_numbers: pd.Series) -> np.ndarray:
    """Levenshtein distance of each reference to the PO number beside it (float array, NaN where the reference
    is missing): one vectorised rapidfuzz call (``process.cpdist``, pairwise over two equal-length lists)."""
    refs = references.to_numpy(dtype=object)
    has = np.array([isinstance(r, str) for r in refs], dtype=bool)
    out = np.full(len(refs), np.nan)
    if has.any():
        out[has] = cpdist(list(refs[has]), list(po_numbers.to_numpy(dtype=object)[has]),
                          scorer=Levenshtein.distance, workers=1)
    return out


def _abs_log(series: pd.Series) -> pd.Series:
    values = pd.to_numeric(series, errors="coerce").astype(float)
    out = np.abs(np.log(values.where(values > 0)))
    return out.fillna(_MISSING_RATIO).clip(upper=_MISSING_RATIO)


def matrix(candidates: pd.DataFrame) -> pd.DataFrame:
    """The model's input: one row per candidate pair, columns FEATURES, no missing values."""
    c = candidates
    # Training repeats an invoice once per reference variant: relative features are per variant.
    keys = [c["invoice_id"], c["variant"]] if "variant" in c.columns else [c["invoice_id"]]
    out = pd.DataFrame(index=c.index)
    ref_missing = c["po_reference"].isna()
    out["ref_missing"] = ref_missing.astype(float)
    out["ref_exact"] = c["ref_exact"].fillna(False).astype(float)
    distance = pd.to_numeric(c["ref_edit_distance"], errors="coerce")
    out["ref_edit_distance"] = distance.fillna(NO_REF_DISTANCE).clip(upper=NO_REF_DISTANCE)
    for col in ("same_supplier", "same_currency", "has_receipt", "duplicate_signal"):
        out[col] = c[col].fillna(False).astype(float)
    out["vendor_name_similarity"] = pd.to_numeric(c["vendor_name_similarity"], errors="coerce").fillna(0.0)
    out["abs_log_amount_ratio"] = _abs_log(c["amount_ratio"])
    out["abs_log_quantity_ratio"] = _abs_log(c["quantity_ratio"])
    out["abs_log_po_amount_ratio"] = _abs_log(c["po_amount_ratio"])
    gap = pd.to_numeric(c["date_gap_days"], errors="coerce")
    out["date_gap_days"] = gap.fillna(99).clip(-99, 99)
    out["date_in_window"] = gap.between(-2, 10).astype(float)
    # Relative evidence: how this PO's amount fit ranks among the invoice's candidates, and how many there are.
    out["amount_rank"] = out.groupby(keys)["abs_log_amount_ratio"].rank(method="min")
    out["n_candidates"] = c.groupby(keys)["po_number"].transform("count").astype(float)
    return out[FEATURES]


def _with_references(pool: pd.DataFrame, references: pd.Series, variant: str) -> pd.DataFrame:
    """The pool's pairs as if each invoice had quoted references[invoice_id] (None/NaN = no reference)."""
    g = pool.copy()
    g["po_reference"] = g["invoice_id"].map(references)
    has_ref = g["po_reference"].notna()
    g["ref_exact"] = has_ref & (g["po_number"] == g["po_reference"])
    g["ref_edit_distance"] = edit_distances(g["po_reference"], g["po_number"])
    # the rules' verdict under the new reference: everything else they check is the pair's own evidence
    g["is_rule_match"] = g["ref_exact"] & g["rule_checks_pass"].fillna(False).astype(bool)
    return g.assign(variant=variant)


def _typo(po_number: str, rng: np.random.Generator) -> str:
    digits = list(po_number)
    i = int(rng.integers(3, len(digits)))
    if digits[i].isdigit():
        digits[i] = str((int(digits[i]) + int(rng.integers(1, 10))) % 10)
    return "".join(digits)


def bootstrap_labels(candidates: pd.DataFrame, seed: int = 0, max_far_negatives: int = 3) -> pd.DataFrame:
    """Weakly labelled pairs (rule matches + their hard negatives, with reference augmentations).

    Returns candidate rows with `variant`, `label` and `weight`. Per invoice, negatives are every PO of the same
    supplier received near the invoice date (the hard ones) plus a few others found by reference only.
    """
    rng = np.random.default_rng(seed)
    positives = candidates[candidates["is_rule_match"] & ~candidates["duplicate_signal"].fillna(False)]
    positives = positives.drop_duplicates("invoice_id")
    matched = pd.Series(positives["po_number"].to_numpy(), index=positives["invoice_id"].to_numpy())
    if matched.empty:
        return candidates.head(0).assign(variant=[], label=[], weight=[])
    pool = candidates[candidates["invoice_id"].isin(matched.index)].copy()
    pool["label"] = (pool["po_number"] == pool["invoice_id"].map(matched)).astype(int)
    hard = pool["found_by"].str.contains("supplier") | (pool["label"] == 1)
    far = pool[~hard].sample(frac=1.0, random_state=seed).groupby("invoice_id").head(max_far_negatives)
    pool = pd.concat([pool[hard], far]).sort_index()

    typos = matched.map(lambda po: _typo(po, rng))
    # A wrong reference is usually another PO of the same supplier: pick one among the hard negatives.
    same_supplier_others = pool[(pool["label"] == 0) & pool["found_by"].str.contains("supplier")]
    other = (same_supplier_others.sample(frac=1.0, random_state=seed).drop_duplicates("invoice_id")
             .set_index("invoice_id")["po_number"])
    frames = [
        pool.assign(variant="as_keyed"),
        _with_references(pool, pd.Series(dtype=object), "no_reference"),
        _with_references(pool, typos, "typo"),
        _with_references(pool[pool["invoice_id"].isin(other.index)], other, "other_po"),
    ]
    return pd.concat(frames, ignore_index=True).assign(weight=1.0)


def decision_labels(candidates: pd.DataFrame, decisions: pd.DataFrame, weight: float = 5.0) -> pd.DataFrame:
    """Labels from the latest human decision per invoice: the approved/reassigned PO is the match, every other
    candidate is not; a rejected invoice has no match at all. Human labels weigh more than weak ones."""
    if decisions.empty:
        return candidates.head(0).assign(variant=[], label=[], weight=[])
    latest = decisions.groupby("invoice_id").tail(1)  # load() returns them in the order recorded
    chosen = pd.Series(latest["po_number"].where(latest["action"] != "reject").to_numpy(), index=latest["invoice_id"].to_numpy())
    pairs = candidates[candidates["invoice_id"].isin(chosen.index)].copy()
    pairs["label"] = (pairs["po_number"] == pairs["invoice_id"].map(chosen)).astype(int)  # NaN (rejected) never equals
    return pairs.assign(variant="human_decision", weight=weight)


def training_set(candidates: pd.DataFrame, decisions: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Bootstrap labels, replaced by the human decision wherever an invoice has one."""
    human = decision_labels(candidates, decisions)
    weak = bootstrap_labels(candidates[~candidates["invoice_id"].isin(set(human["invoice_id"]))], seed=seed)
    return pd.concat([weak, human], ignore_index=True)
