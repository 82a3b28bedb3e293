"""Deterministic matching: records sharing a normalised key are linked."""
from __future__ import annotations

import json

import pandas as pd

from smb_warehouse.entity_resolution.specs import EntitySpec, Rule

EDGE_COLUMNS = ["left_record_key", "right_record_key", "decided_by", "match_probability", "match_weight",
                "comparison_detail"]


def _ordered(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def _rule_edges(records: pd.DataFrame, rule: Rule) -> list[tuple[str, str, str, str]]:
    """A star per key value (every member linked to the group's smallest key): n-1 edges, not n^2/2,
    yet the same connected component."""
    values = records[["record_key", rule.column]].dropna()
    values = values[values[rule.column].astype(str).str.len() >= rule.min_length]
    edges: list[tuple[str, str, str, str]] = []
    for value, group in values.groupby(rule.column, sort=True):
        keys = sorted(group["record_key"])
        if len(keys) < 2 or len(keys) > rule.max_group:
            continue
        for other in keys[1:]:
            edges.append((*_ordered(keys[0], other), rule.name, str(value)))
    return edges


def rule_evidence(records: pd.DataFrame, spec: EntitySpec) -> pd.DataFrame:
    """One row per linked pair; a pair found by several rules is credited to the strongest (first)."""
    rows: dict[tuple[str, str], dict] = {}
    for rule in spec.rules:
        for left, right, name, value in _rule_edges(records, rule):
            rows.setdefault((left, right), {"rule": name, "value": value})
    if spec.parent_rule and "parent_record_key" in records:
        known = set(records["record_key"])
        for key, parent in records[["record_key", "parent_record_key"]].dropna().itertuples(index=False):
            if parent in known:
                rows.setdefault(_ordered(key, parent), {"rule": spec.parent_rule, "value": parent})
    out = [
        {"left_record_key": l, "right_record_key": r, "decided_by": f"rule:{d['rule']}", "match_probability": 1.0,
         "match_weight": None, "comparison_detail": json.dumps({"rule": d["rule"], "value": d["value"]})}
        for (l, r), d in sorted(rows.items())
    ]
    return pd.DataFrame(out, columns=EDGE_COLUMNS)
