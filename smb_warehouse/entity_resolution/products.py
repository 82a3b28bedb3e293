"""Products: catalogue records (a SKU each) and the free-text mentions that refer to them.

Distinct SKUs of one system are distinct products: two catalogue records are never linked, by name or
otherwise (a retailer sells 'Socket Set' under several SKUs; merging them would lose their categories and
prices). A mention links to at most one catalogue record:

1. ``sku``: its letters and digits equal exactly one catalogue SKU's ('wrk7048' = 'WRK-7048');
2. ``product_name``: its cleaned name equals exactly one catalogue name;
3. ``product_name_fuzzy``: a nearest-neighbour search (RapidFuzz) with explicit similarity levels -- the
   best catalogue name scores at least ACCEPT and the runner-up is more than MARGIN behind.

A key or name that several catalogue records share, or a fuzzy best that is not clear, sends the mention to
the review queue with every candidate instead of a guess. Not Splink: there are no mention-to-mention
matches to learn from, and explicit levels are easier to explain.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

from smb_warehouse.entity_resolution.clustering import UnionFind

ACCEPT = 0.93      # best candidate at or above: linked ...
MARGIN = 0.02      # ... unless the runner-up is this close (ambiguous -> review)
REVIEW = 0.85      # below ACCEPT but at or above: reviewed, not linked
TYPO_SCORE = 0.98  # at most two edits apart (Damerau-Levenshtein)
SUBSET_SCORE = 0.96  # one name's words all within the other's ('hammer 570' in 'hammer max 570')


def _edge(mention: str, product: str, rule: str, probability: float, detail: dict) -> dict:
    left, right = sorted((mention, product))
    return {"left_record_key": left, "right_record_key": right, "decided_by": f"rule:{rule}",
            "match_probability": probability, "match_weight": None,
            "comparison_detail": json.dumps({"rule": rule, **detail}, sort_keys=True)}


def _review(mention: str, product: str, reason: str, probability: float | None, detail: dict) -> dict:
    left, right = sorted((mention, product))
    return {"left_record_key": left, "right_record_key": right, "match_probability": probability,
            "match_weight": None, "reason": reason, "comparison_detail": json.dumps(detail, sort_keys=True)}


def _exact(mentions: pd.DataFrame, catalogue: pd.DataFrame, column: str, rule: str) -> tuple[list[dict], list[dict], set[str]]:
    """Mentions whose ``column`` equals that of exactly one catalogue record (linked) or of several (review)."""
    holders = catalogue[["record_key", column]].dropna()
    hits = mentions[["record_key", column]].dropna().merge(holders, on=column, suffixes=("", "_product"))
    n = hits.groupby("record_key")["record_key_product"].transform("size")
    edges = [_edge(m, p, rule, 1.0, {"value": v}) for m, v, p in hits[n == 1].itertuples(index=False)]
    review = [_review(m, p, f"{rule}_of_several_products", None, {"rule": rule, "value": v, "candidates": int(k)})
              for (m, v, p), k in zip(hits[n > 1].itertuples(index=False), n[n > 1])]
    return edges, review, set(hits["record_key"])


def _fuzzy(mentions: pd.DataFrame, catalogue: pd.DataFrame) -> tuple[list[dict], list[dict]]:
    names_m = mentions["name_clean"].tolist()
    names_p = catalogue["name_clean"].tolist()
    jw = process.cdist(names_m, names_p, scorer=JaroWinkler.normalized_similarity, dtype=np.float32)
    dl = process.cdist(names_m, names_p, scorer=DamerauLevenshtein.distance, dtype=np.int32)
    subset = process.cdist(names_m, names_p, scorer=fuzz.token_set_ratio, dtype=np.float32) >= 100.0
    score = np.maximum(jw, np.maximum(np.where(dl <= 2, TYPO_SCORE, 0.0), np.where(subset, SUBSET_SCORE, 0.0)))
    # a model number that differs is another product ('Hammer Max 570' is not 'Hammer Max 580')
    num_m = mentions["name_clean"].str.extract(r"(\d+)$")[0].fillna("").to_numpy()[:, None]
    num_p = catalogue["name_clean"].str.extract(r"(\d+)$")[0].fillna("").to_numpy()[None, :]
    score = np.where((num_m == "") | (num_m == num_p), score, 0.0)

    order = np.argsort(-score, axis=1, kind="stable")
    keys_m, keys_p = mentions["record_key"].to_numpy(), catalogue["record_key"].to_numpy()
    rows = np.arange(len(names_m))
    best, best_at = score[rows, order[:, 0]], order[:, 0]
    second = score[rows, order[:, 1]] if len(names_p) > 1 else np.zeros(len(names_m))
    edges, review = [], []
    for i in np.flatnonzero(best >= REVIEW):
        j = best_at[i]
        detail = {"rule": "product_name_fuzzy", "jaro_winkler": round(float(jw[i, j]), 4),
                  "damerau_levenshtein": int(dl[i, j]), "words_subset": bool(subset[i, j]),
                  "runner_up_score": round(float(second[i]), 4)}
        if best[i] >= ACCEPT and second[i] < best[i] - MARGIN:
            edges.append(_edge(keys_m[i], keys_p[j], "product_name_fuzzy", float(best[i]), detail))
            continue
        close = [k for k in order[i] if score[i, k] >= max(REVIEW, best[i] - MARGIN)]
        for k in close:
            review.append(_review(keys_m[i], keys_p[k], "product_name_not_clear", float(score[i, k]),
                                  {**detail, "jaro_winkler": round(float(jw[i, k]), 4),
                                   "damerau_levenshtein": int(dl[i, k]), "words_subset": bool(subset[i, k])}))
    return edges, review


def match_products(records: pd.DataFrame, uf: UnionFind) -> tuple[list[dict], list[dict], list[str]]:
    """Link mentions to catalogue records; unions in ``uf``.

    records: int_er__product_records rows (record_key, sku -- NULL for mentions --, code_key, name_clean).
    Returns (evidence rows, review rows, log notes). Catalogue records are never linked to each other.
    """
    notes: list[str] = []
    is_catalogue = records["sku"].notna() if "sku" in records else pd.Series(False, index=records.index)
    catalogue, mentions = records[is_catalogue], records[~is_catalogue]
    shared = int(catalogue["name_clean"].dropna().duplicated(keep=False).sum()) if "name_clean" in catalogue else 0
    if shared:
        notes.append(f"products: {shared} catalogue records share their name with another SKU; kept apart")
    if catalogue.empty or mentions.empty:
        notes.append(f"products: {len(catalogue)} catalogue record(s), {len(mentions)} mention(s): nothing to link")
        return [], [], notes
    edges, review, placed = _exact(mentions, catalogue, "code_key", "sku")
    more_edges, more_review, more_placed = _exact(mentions[~mentions["record_key"].isin(placed)], catalogue,
                                                  "name_clean", "product_name")
    edges, review, placed = edges + more_edges, review + more_review, placed | more_placed
    rest = mentions[~mentions["record_key"].isin(placed) & mentions["name_clean"].notna()]
    named = catalogue[catalogue["name_clean"].notna()]
    if not rest.empty and not named.empty:
        fuzzy_edges, fuzzy_review = _fuzzy(rest, named)
        edges, review = edges + fuzzy_edges, review + fuzzy_review
    for edge in edges:
        uf.union(edge["left_record_key"], edge["right_record_key"])
    return edges, review, notes
