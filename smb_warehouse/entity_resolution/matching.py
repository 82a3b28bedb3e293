"""The whole resolution for one warehouse connection: rules, model, clustering, stable ids."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import pandas as pd

from smb_warehouse.core import dbt_manifest
from smb_warehouse.entity_resolution import products, splink_model, tables
from smb_warehouse.entity_resolution.clustering import UnionFind
from smb_warehouse.entity_resolution.rules import EDGE_COLUMNS, rule_evidence
from smb_warehouse.entity_resolution.specs import SPECS, EntitySpec
from smb_warehouse.entity_resolution.splink_model import SplinkConfig
from smb_warehouse.entity_resolution.stable_ids import assign_ids

# A model link may not join groups whose strong identifiers disagree (see clustering.py).
CANNOT_LINK_ATTRIBUTES = ("vat_core", "company_domain")


@dataclass
class Resolution:
    entity_map: pd.DataFrame
    match_evidence: pd.DataFrame
    review_queue: pd.DataFrame


def load_records(con: duckdb.DuckDBPyConnection, spec: EntitySpec) -> pd.DataFrame:
    return con.execute(f"SELECT * FROM {dbt_manifest.relation(spec.model)} ORDER BY record_key").df()


def _attributes(records: pd.DataFrame) -> dict[str, dict[str, frozenset[str]]]:
    cols = [c for c in CANNOT_LINK_ATTRIBUTES if c in records]
    out: dict[str, dict[str, frozenset[str]]] = {}
    for row in records[["record_key", *cols]].itertuples(index=False):
        out[row[0]] = {c: frozenset([v]) for c, v in zip(cols, row[1:]) if isinstance(v, str) and v}
    return out


def _summary(records: pd.DataFrame, spec: EntitySpec) -> dict[str, str]:
    cols = [c for c in spec.summary_columns if c in records]
    return {
        row[0]: " | ".join(f"{c}={v}" for c, v in zip(cols, row[1:]) if isinstance(v, str) and v)
        for row in records[["record_key", *cols]].itertuples(index=False)
    }


def organisations(records: pd.DataFrame, spec: EntitySpec) -> pd.DataFrame:
    """The Splink model's input rows for one entity type: records with a company name."""
    kind = records["record_kind"] if "record_kind" in records else pd.Series("organisation", index=records.index)
    return records[kind == "organisation"].assign(entity_type=spec.entity_type)


def _model_links(scored: pd.DataFrame, config: SplinkConfig, uf: UnionFind) -> tuple[list[dict], list[dict]]:
    """Splink pairs: merged (p >= merge threshold, no identifier conflict) or queued for review."""
    accepted, review = [], []
    for row in scored.sort_values(["match_probability", "record_key_l", "record_key_r"], ascending=[False, True, True]).itertuples(index=False):
        left, right, p = row.record_key_l, row.record_key_r, float(row.match_probability)
        if uf.find(left) == uf.find(right):
            continue  # already together through stronger links: no new evidence needed
        if p >= config.merge_threshold and not uf.conflicts(left, right):
            uf.union(left, right)
            accepted.append({"left_record_key": left, "right_record_key": right, "decided_by": "splink",
                             "match_probability": p, "match_weight": float(row.match_weight),
                             "comparison_detail": row.comparison_detail})
        else:
            review.append({"left_record_key": left, "right_record_key": right, "match_probability": p})
    return accepted, review


def _record_rules(records: pd.DataFrame, evidence: pd.DataFrame) -> pd.DataFrame:
    """Per record: the rule and score of its strongest accepted link ('singleton' when it has none)."""
    if evidence.empty:
        return pd.DataFrame({"record_key": records["record_key"], "match_rule": "singleton", "match_score": None})
    sides = pd.concat([
        evidence[["left_record_key", "decided_by", "match_probability"]].rename(columns={"left_record_key": "record_key"}),
        evidence[["right_record_key", "decided_by", "match_probability"]].rename(columns={"right_record_key": "record_key"}),
    ])
    sides["is_rule"] = sides["decided_by"].str.startswith("rule:")
    best = (sides.sort_values(["record_key", "is_rule", "match_probability", "decided_by"], ascending=[True, False, False, True])
            .drop_duplicates("record_key"))
    best["match_rule"] = best["decided_by"].str.removeprefix("rule:")
    out = records[["record_key"]].merge(best[["record_key", "match_rule", "match_probability"]], how="left", on="record_key")
    out["match_rule"] = out["match_rule"].fillna("singleton")
    return out.rename(columns={"match_probability": "match_score"})


def rule_clusters(records: pd.DataFrame, spec: EntitySpec) -> dict[str, str]:
    """Clusters of the unguarded rules alone (the model's u sample needs known matches, not guesses)."""
    uf = UnionFind(records["record_key"])
    evidence = rule_evidence(records, spec)
    unguarded = ~evidence["decided_by"].isin([f"rule:{r.name}" for r in spec.rules if r.guarded])
    for left, right in evidence.loc[unguarded, ["left_record_key", "right_record_key"]].itertuples(index=False):
        uf.union(left, right)
    return uf.clusters()


def resolve_entity_type(records: pd.DataFrame, spec: EntitySpec, scored: pd.DataFrame, config: SplinkConfig,
                        previous: dict[str, str]) -> Resolution:
    evidence = rule_evidence(records, spec)
    uf = UnionFind(records["record_key"], _attributes(records))
    guarded = evidence["decided_by"].isin([f"rule:{r.name}" for r in spec.rules if r.guarded])
    for left, right in evidence.loc[~guarded, ["left_record_key", "right_record_key"]].itertuples(index=False):
        uf.union(left, right)
    review: list[dict] = []
    refused = []
    for index, left, right in evidence.loc[guarded, ["left_record_key", "right_record_key"]].itertuples():
        if uf.conflicts(left, right):
            refused.append(index)
            review.append({"left_record_key": left, "right_record_key": right, "match_probability": None})
        else:
            uf.union(left, right)
    evidence = evidence.drop(index=refused)
    links: list[dict] = []
    if spec.use_splink:
        links, model_review = _model_links(scored[scored["entity_type"] == spec.entity_type], config, uf)
        review += model_review
    if spec.fuzzy_products:
        clusters = uf.clusters()
        catalogue_roots = {clusters[k] for k in records.loc[records["source_entity"] == "products", "record_key"]}
        unplaced = [k for k in records["record_key"] if clusters[k] not in catalogue_roots]
        fuzzy_links, fuzzy_review = products.match_mentions(records, unplaced)
        links, review = fuzzy_links.to_dict("records"), review + fuzzy_review.to_dict("records")
        for link in links:
            uf.union(link["left_record_key"], link["right_record_key"])
    evidence = pd.concat([evidence, pd.DataFrame(links, columns=EDGE_COLUMNS)], ignore_index=True)
    clusters = uf.clusters()
    ids = assign_ids(clusters, previous, spec.id_prefix)

    entity_map = records[["source_system", "source_entity", "source_id", "record_key"]].copy()
    entity_map.insert(0, "entity_type", spec.entity_type)
    entity_map["unified_id"] = entity_map["record_key"].map(ids)
    entity_map = entity_map.merge(_record_rules(records, evidence), on="record_key", how="left")
    evidence.insert(0, "entity_type", spec.entity_type)

    summaries = _summary(records, spec)
    queue = pd.DataFrame(review, columns=["left_record_key", "right_record_key", "match_probability"])
    # a pair the clustering joined anyway (through other links) needs no review
    apart = pd.Series([clusters[l] != clusters[r] for l, r in zip(queue["left_record_key"], queue["right_record_key"])],
                      index=queue.index, dtype=bool)
    queue = queue[apart].copy()
    queue.insert(0, "entity_type", spec.entity_type)
    queue["left_summary"] = queue["left_record_key"].map(summaries)
    queue["right_summary"] = queue["right_record_key"].map(summaries)
    queue["status"] = "pending"
    return Resolution(entity_map, evidence, queue)


def resolve(con: duckdb.DuckDBPyConnection, run_id: str, config: SplinkConfig = SplinkConfig(),
            resolved_at: datetime | None = None) -> Resolution:
    """Resolve every entity type from the int_er__* views of `con`; ids continue those of the
    entity_map already in `con` (the candidate starts as a copy of the published warehouse)."""
    resolved_at = resolved_at or datetime.now(UTC).replace(tzinfo=None)
    records = {spec.entity_type: load_records(con, spec) for spec in SPECS}
    # One model over the organisations of every Splink entity type; the rules' clusters let it sample
    # u from (mostly) non-matches.
    model_input = [
        organisations(records[s.entity_type], s).assign(
            rule_cluster=lambda df, s=s: df["record_key"].map(rule_clusters(records[s.entity_type], s)))
        for s in SPECS if s.use_splink
    ]
    scored = splink_model.score_pairs(pd.concat(model_input, ignore_index=True), config)
    parts = [resolve_entity_type(records[spec.entity_type], spec, scored, config, tables.previous_ids(con, spec.entity_type))
             for spec in SPECS]
    entity_map = pd.concat([p.entity_map for p in parts], ignore_index=True)
    entity_map["resolved_at"] = resolved_at
    entity_map["er_run_id"] = run_id
    queue = pd.concat([p.review_queue for p in parts], ignore_index=True)
    queue["created_at"] = resolved_at
    evidence = pd.concat([p.match_evidence for p in parts], ignore_index=True)
    return Resolution(entity_map, evidence, queue)


def rule_counts(resolution: Resolution) -> dict[str, dict[str, int]]:
    """{entity_type: {match_rule: records}} for asset metadata and the benchmark."""
    counts = resolution.entity_map.groupby(["entity_type", "match_rule"]).size()
    out: dict[str, dict[str, int]] = {}
    for (entity_type, rule), n in counts.items():
        out.setdefault(entity_type, {})[rule] = int(n)
    return json.loads(json.dumps(out))
