"""Deterministic links, only where a shared key is truly unique.

Organisations are linked by the model (splink_model.py): a shared VAT id, e-mail or name there is strong
evidence with an estimated weight, never proof on its own. What stays deterministic is what the model does
not score: a record the source itself links to another (a CRM contact to its account), and person records
(contacts, ticket requesters) that carry no company name and reach their company through a key it holds.
Such a key decides only when, after the organisations were resolved, exactly ONE cluster holds it; a key
held by two clusters (a shared mailbox provider, a call centre number) decides nothing and the person is
queued for review with both candidates.
"""
from __future__ import annotations

import json

import pandas as pd

from smb_warehouse.entity_resolution.clustering import UnionFind
from smb_warehouse.entity_resolution.specs import KeyRule

EDGE_COLUMNS = ["left_record_key", "right_record_key", "decided_by", "match_probability", "match_weight",
                "comparison_detail"]
REVIEW_COLUMNS = ["left_record_key", "right_record_key", "match_probability", "match_weight", "reason",
                  "comparison_detail"]


def _edge(a: str, b: str, rule: str, detail: dict) -> dict:
    left, right = (a, b) if a < b else (b, a)
    return {"left_record_key": left, "right_record_key": right, "decided_by": f"rule:{rule}", "match_probability": 1.0,
            "match_weight": None, "comparison_detail": json.dumps({"rule": rule, **detail}, sort_keys=True)}


def parent_links(records: pd.DataFrame, rule: str, uf: UnionFind) -> list[dict]:
    """record -> parent_record_key links the source system itself holds (a CRM contact's account), when
    the parent is among the records. Unions them in ``uf``; returns evidence rows."""
    if "parent_record_key" not in records:
        return []
    pairs = records[["record_key", "parent_record_key"]].dropna()
    pairs = pairs[pairs["parent_record_key"].isin(set(records["record_key"]))]
    edges = []
    for key, parent in pairs.itertuples(index=False):
        uf.union(key, parent)
        edges.append(_edge(key, parent, rule, {"value": parent}))
    return edges


def attach_by_key(records: pd.DataFrame, attachable: set[str], anchored: set[str], rule: KeyRule,
                  uf: UnionFind) -> tuple[list[dict], list[dict], set[str]]:
    """Attach ``attachable`` records (not yet in an organisation's cluster) to the one cluster of
    ``anchored`` records holding the same ``rule.column`` value.

    records: record_key plus rule.column (string, NULL = none). Returns (evidence rows, review rows,
    newly attached record keys); unions in ``uf``. A value held by anchored records of two or more clusters
    is not unique: for a personal key each attachable record holding it is queued once per candidate
    cluster (reason '<rule>_in_several_clusters'); a company key held by several clusters is a shared
    provider's domain and decides nothing (not queued). For personal keys (``company_key`` False, e.g. e-mail), attachable records
    sharing a value no anchored record holds are linked to each other (one mailbox, one person).
    """
    if rule.column not in records:
        return [], [], set()
    values = records[["record_key", rule.column]].dropna()
    values = values[values[rule.column].astype(str).str.len() >= rule.min_length]
    if values.empty:
        return [], [], set()
    roots = values["record_key"].map(uf.find)
    held = values[values["record_key"].isin(anchored)].assign(root=roots)
    # per value: the clusters holding it, and each cluster's smallest holder (the evidence's other side)
    holders = held.groupby([rule.column, "root"], sort=True)["record_key"].min().reset_index()
    n_clusters = holders.groupby(rule.column)["root"].transform("nunique")
    unique = holders[n_clusters == 1].set_index(rule.column)["record_key"]
    shared = holders[n_clusters > 1]
    seekers = values[values["record_key"].isin(attachable - anchored)]

    edges, review, attached = [], [], set()
    hits = seekers[seekers[rule.column].isin(unique.index)]
    for key, value in hits.itertuples(index=False):
        holder = unique[value]
        if uf.find(key) != uf.find(holder):
            uf.union(key, holder)
        edges.append(_edge(key, holder, rule.name, {"value": value, "clusters_holding_value": 1}))
        attached.add(key)
    # a company key (domain) several clusters hold is a shared provider: no evidence, nothing to review
    ambiguous = seekers.merge(shared.rename(columns={"record_key": "holder"}), on=rule.column)
    if rule.company_key:
        ambiguous = ambiguous.iloc[0:0]
    n_holding = shared.groupby(rule.column)["root"].nunique()
    for key, value, holder in ambiguous[["record_key", rule.column, "holder"]].itertuples(index=False):
        left, right = (key, holder) if key < holder else (holder, key)
        review.append({"left_record_key": left, "right_record_key": right, "match_probability": None,
                       "match_weight": None, "reason": f"{rule.name}_in_several_clusters",
                       "comparison_detail": json.dumps({"rule": rule.name, "value": value,
                                                        "clusters_holding_value": int(n_holding[value])}, sort_keys=True)})
    if not rule.company_key:
        loose = seekers[~seekers[rule.column].isin(held[rule.column]) & ~seekers["record_key"].isin(attached)]
        for value, group in loose.groupby(rule.column, sort=True):
            keys = sorted(group["record_key"])
            for other in keys[1:]:
                uf.union(keys[0], other)
                edges.append(_edge(keys[0], other, rule.name, {"value": value, "clusters_holding_value": 0}))
    return edges, review, attached
