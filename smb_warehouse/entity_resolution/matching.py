"""The whole resolution for one warehouse connection: model, key rules, products, clustering, stable ids.

1. Organisations (ERP customers, CRM accounts, finance debtors, ERP suppliers, finance vendors): one
   Splink model trained on them (splink_model.py); pairs at or above the merge threshold chosen from the
   model's weights (thresholds.py) are merged, pairs in the ambiguous band are queued for review.
2. Records the model does not score (people: CRM contacts, ticket requesters; organisations without a
   usable name): the source's own links (a contact's account), then keys that exactly one cluster holds
   (rules.py).
3. Products: SKU and name matching that never merges two SKUs (products.py).
4. Clusters are connected components of the accepted links; unified ids continue those of the last run
   (stable_ids.py).

Never raises for data reasons (empty or missing masters, a single system, all-unique names, fields empty
everywhere): such inputs give a resolution (possibly with no merges) and say so in ``Resolution.notes``,
which the asset logs. A missing input model is a broken build and raises.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb
import pandas as pd

from smb_warehouse.core import dbt_manifest
from smb_warehouse.entity_resolution import products, splink_model, tables, thresholds
from smb_warehouse.entity_resolution.clustering import UnionFind
from smb_warehouse.entity_resolution.rules import EDGE_COLUMNS, REVIEW_COLUMNS, attach_by_key, parent_links
from smb_warehouse.entity_resolution.specs import SPECS, EntitySpec
from smb_warehouse.entity_resolution.splink_model import SplinkConfig
from smb_warehouse.entity_resolution.stable_ids import assign_ids

log = logging.getLogger(__name__)

QUEUE_COLUMNS = ["entity_type", "left_record_key", "right_record_key", "match_probability", "match_weight", "reason",
                 "comparison_detail", "left_summary", "right_summary", "status"]


@dataclass
class Resolution:
    """entity_map / match_evidence / review_queue: frames with the columns declared in
    models/sources/_entity_resolution__sources.yml. notes: log lines (what was skipped, defaulted or
    chosen, and why); model: the estimated parameters and thresholds (for metadata and the benchmark)."""

    entity_map: pd.DataFrame
    match_evidence: pd.DataFrame
    review_queue: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    model: dict = field(default_factory=dict)


def load_records(con: duckdb.DuckDBPyConnection, spec: EntitySpec) -> pd.DataFrame:
    """All rows of the spec's dbt model, ordered by record_key (every column as the model has it)."""
    return con.execute(f"SELECT * FROM {dbt_manifest.relation(spec.model)} ORDER BY record_key").df()


def _summary(records: pd.DataFrame, spec: EntitySpec) -> pd.Series:
    """record_key -> 'display_name=... | city=...' of the non-empty summary columns."""
    cols = [c for c in spec.summary_columns if c in records]
    if records.empty or not cols:
        return pd.Series(dtype=object)
    parts = [(c + "=" + records[c].astype("string")).fillna("") for c in cols]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined.str.cat(part, sep=" | ")
    joined = joined.str.replace(r"( \| )+", " | ", regex=True).str.strip(" |")
    return pd.Series(joined.to_numpy(), index=records["record_key"].to_numpy())


def model_records(records: pd.DataFrame, spec: EntitySpec) -> pd.DataFrame:
    """The rows the model scores for one entity type: organisations with a name (people reach their
    company through keys instead), tagged with entity_type."""
    if records.empty:
        return records.assign(entity_type=pd.Series(dtype=object))
    kind = records["record_kind"] if "record_kind" in records else pd.Series("organisation", index=records.index)
    named = records["name_core"].notna() if "name_core" in records else pd.Series(False, index=records.index)
    return records[(kind == "organisation") & named].assign(entity_type=spec.entity_type)


def _model_links(scored: pd.DataFrame, chosen: thresholds.Thresholds, uf: UnionFind) -> tuple[list[dict], list[dict]]:
    """Pairs at or above the merge threshold are unioned (evidence); pairs in the review band are
    returned for the queue (dropped later if the clustering joined them anyway)."""
    merge = scored[scored["match_probability"] >= chosen.merge].sort_values(
        ["match_probability", "record_key_l", "record_key_r"], ascending=[False, True, True])
    for left, right in merge[["record_key_l", "record_key_r"]].itertuples(index=False):
        uf.union(left, right)
    evidence = pd.DataFrame({
        "left_record_key": merge["record_key_l"], "right_record_key": merge["record_key_r"], "decided_by": "splink",
        "match_probability": merge["match_probability"], "match_weight": merge["match_weight"],
        "comparison_detail": merge["comparison_detail"]})
    band = scored[(scored["match_probability"] >= chosen.review) & (scored["match_probability"] < chosen.merge)]
    review = pd.DataFrame({
        "left_record_key": band["record_key_l"], "right_record_key": band["record_key_r"],
        "match_probability": band["match_probability"], "match_weight": band["match_weight"],
        "reason": "model_uncertain", "comparison_detail": band["comparison_detail"]})
    return evidence.to_dict("records"), review.to_dict("records")


def _record_rules(records: pd.DataFrame, evidence: pd.DataFrame) -> pd.DataFrame:
    """Per record: the rule and score of its strongest accepted link ('singleton' when it has none)."""
    if evidence.empty:
        return pd.DataFrame({"record_key": records["record_key"], "match_rule": "singleton",
                             "match_score": pd.Series([None] * len(records), dtype="float64")})
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


def resolve_entity_type(records: pd.DataFrame, spec: EntitySpec, scored: pd.DataFrame, chosen: thresholds.Thresholds,
                        previous: dict[str, str]) -> Resolution:
    """Clusters, ids, evidence and review queue of one entity type.

    records: the spec's model rows; scored: splink_model OUTPUT_COLUMNS (pairs of any entity type, only
    this one's are used); previous: record_key -> unified_id of the last run.
    """
    notes: list[str] = []
    uf = UnionFind(records["record_key"])
    edges: list[dict] = []
    review: list[dict] = []
    if spec.use_splink and not scored.empty:
        mine = scored[scored["entity_type"] == spec.entity_type]
        links, queued = _model_links(mine, chosen, uf)
        edges += links
        review += queued
        notes.append(f"{spec.entity_type}: {len(links)} model links merged, {len(queued)} pairs in the review band")
    if spec.parent_rule:
        edges += parent_links(records, spec.parent_rule, uf)
    if spec.key_rules:
        scored_keys = set(model_records(records, spec)["record_key"])
        attachable = set(records["record_key"]) - scored_keys
        anchored = set(scored_keys)
        # records joined to an organisation through the source's own link are anchored too
        organisation_roots = {uf.find(k) for k in scored_keys}
        anchored |= {k for k in attachable if uf.find(k) in organisation_roots}
        for rule in spec.key_rules:
            rule_edges, rule_review, attached = attach_by_key(records, attachable, anchored, rule, uf)
            edges += rule_edges
            review += rule_review
            anchored |= attached
            if rule_edges or rule_review:
                notes.append(f"{spec.entity_type}: rule {rule.name}: {len(rule_edges)} links, "
                             f"{len(rule_review)} ambiguous (queued)")
    if spec.products:
        product_edges, product_review, product_notes = products.match_products(records, uf)
        edges += product_edges
        review += product_review
        notes += product_notes

    clusters = uf.clusters()
    ids = assign_ids(clusters, previous, spec.id_prefix)
    evidence = pd.DataFrame(edges, columns=EDGE_COLUMNS)
    evidence.insert(0, "entity_type", spec.entity_type)

    entity_map = records[["source_system", "source_entity", "source_id", "record_key"]].copy()
    entity_map.insert(0, "entity_type", spec.entity_type)
    entity_map["unified_id"] = entity_map["record_key"].map(ids)
    entity_map = entity_map.merge(_record_rules(records, evidence), on="record_key", how="left")

    queue = pd.DataFrame(review, columns=REVIEW_COLUMNS).drop_duplicates(["left_record_key", "right_record_key"])
    # a pair the clustering joined anyway (through other links) needs no review
    apart = [clusters[a] != clusters[b] for a, b in zip(queue["left_record_key"], queue["right_record_key"])]
    queue = queue[pd.Series(apart, index=queue.index, dtype=bool)].copy()
    queue.insert(0, "entity_type", spec.entity_type)
    summaries = _summary(records, spec)
    queue["left_summary"] = queue["left_record_key"].map(summaries)
    queue["right_summary"] = queue["right_record_key"].map(summaries)
    queue["status"] = "pending"
    merged = int(entity_map["unified_id"].nunique())
    notes.append(f"{spec.entity_type}: {len(records)} records -> {merged} entities; {len(queue)} pairs for review")
    return Resolution(entity_map, evidence, queue[QUEUE_COLUMNS], notes)


def resolve(con: duckdb.DuckDBPyConnection, run_id: str, config: SplinkConfig = SplinkConfig(),
            resolved_at: datetime | None = None) -> Resolution:
    """Resolve every entity type from the int_er__* models of ``con``; ids continue those of the
    entity_map already in ``con`` (the candidate starts as a copy of the published warehouse).

    Returns frames shaped as the entity_resolution tables (resolved_at / created_at = ``resolved_at`` or
    now, UTC). Raises dbt_manifest.ManifestError / duckdb.CatalogException when an input model is missing.
    """
    resolved_at = resolved_at or datetime.now(UTC).replace(tzinfo=None)
    records = {spec.entity_type: load_records(con, spec) for spec in SPECS}
    notes: list[str] = []
    model_input = [model_records(records[s.entity_type], s) for s in SPECS if s.use_splink]
    model_input = [m for m in model_input if not m.empty]
    organisations = pd.concat(model_input, ignore_index=True) if model_input else pd.DataFrame(
        columns=["entity_type", "record_key", "name_core"])
    result = splink_model.score_pairs(organisations, config)
    notes += result.notes
    chosen = thresholds.choose(result.scored["match_probability"].to_numpy(dtype=float))
    notes.append(f"organisations: {len(organisations)} records, {len(result.scored)} scored pairs; thresholds: "
                 f"{chosen.describe()}")
    if result.parameters:
        notes.append("model: " + splink_model.describe(result.parameters))
    parts = [resolve_entity_type(records[spec.entity_type], spec, result.scored, chosen,
                                 tables.previous_ids(con, spec.entity_type)) for spec in SPECS]
    for part in parts:
        notes += part.notes
    entity_map = pd.concat([p.entity_map for p in parts], ignore_index=True)
    entity_map["resolved_at"] = resolved_at
    entity_map["er_run_id"] = run_id
    queue = pd.concat([p.review_queue for p in parts], ignore_index=True)
    queue["created_at"] = resolved_at
    evidence = pd.concat([p.match_evidence for p in parts], ignore_index=True)
    for line in notes:
        log.info("entity resolution: %s", line)
    model = {"parameters": result.parameters, "thresholds": {
        "merge": chosen.merge, "review": chosen.review, "merge_weight": chosen.merge_weight,
        "expected_matches": chosen.expected_matches, "expected_f1": chosen.expected_f1, "source": chosen.source}}
    return Resolution(entity_map, evidence, queue, notes, model)


def rule_counts(resolution: Resolution) -> dict[str, dict[str, int]]:
    """{entity_type: {match_rule: records}} for asset metadata and the benchmark."""
    counts = resolution.entity_map.groupby(["entity_type", "match_rule"]).size()
    out: dict[str, dict[str, int]] = {}
    for (entity_type, rule), n in counts.items():
        out.setdefault(entity_type, {})[rule] = int(n)
    return json.loads(json.dumps(out))
