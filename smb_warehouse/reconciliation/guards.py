"""The AP circuit breaker's guards: when one breaches its threshold, AP reconciliation runs in safe mode
(smb_warehouse.core.safe_mode; mode ``all_to_review``: no auto-match, every invoice to a person) until a person
or a run whose guards are all healthy closes the breaker.

    input contract  the AP inputs' latest load (finance ap_invoices / ap_invoice_lines, erp purchase_orders /
                    purchase_order_lines / goods_receipts; dbt model stg_ingestion__load_audit): a rejected file,
                    or a quarantined share of read rows above ``GuardConfig.max_quarantine_share``
    drift           this run's candidate profile (scorer.profile: share of invoices with a rule match, share
                    quoting no reference) against the profile the serving champion was trained on; a difference
                    above ``max_drift`` in either share
    live KPI        auto-match reversal rate: invoices the machine auto-matched (rules or scorer, as published by
                    the previous run: fct_ap_invoice_outcomes.machine_outcome / machine_po_number) whose latest
                    review decision rejects the invoice or matches it to another PO, over the machine's
                    auto-matches; above ``max_reversal_rate`` once there are ``min_reversals`` reversals

A guard without the data it needs (first run, no champion yet, an older warehouse) does not judge: it says so
in ``GuardReport.notes`` and never opens the breaker on its own.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pandas as pd

from smb_warehouse.core import dbt_manifest
from smb_warehouse.reconciliation.config import GuardConfig

AP_INPUTS = (("finance", "ap_invoices"), ("finance", "ap_invoice_lines"), ("erp", "purchase_orders"),
             ("erp", "purchase_order_lines"), ("erp", "goods_receipts"))
AUDIT_MODEL = "stg_ingestion__load_audit"
OUTCOMES_MODEL = "fct_ap_invoice_outcomes"


@dataclass
class GuardReport:
    """``problems``: one line per breached guard (empty = healthy); ``figures``: every measured value;
    ``notes``: guards that could not judge and why."""

    problems: list[str] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """One line: the problems, else the figures."""
        if self.problems:
            return "; ".join(self.problems)
        shown = ", ".join(f"{k} {v:.4g}" for k, v in sorted(self.figures.items()))
        return "guards healthy" + (f": {shown}" if shown else "") + (f" ({'; '.join(self.notes)})" if self.notes else "")


def _relation_exists(con: duckdb.DuckDBPyConnection, relation: str) -> bool:
    schema, name = relation.split(".", 1)
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                            [schema.strip('"'), name.strip('"')]).fetchone()[0])


def input_contract(con: duckdb.DuckDBPyConnection, config: GuardConfig, report: GuardReport) -> None:
    """Quarantined share and rejected files of each AP input's latest load (by started_at)."""
    audit = dbt_manifest.relation(AUDIT_MODEL)
    if not _relation_exists(con, audit):
        report.notes.append(f"input contract: {audit} not built")
        return
    wanted = " OR ".join("(source_system = ? AND source_entity = ?)" for _ in AP_INPUTS)
    params = [part for pair in AP_INPUTS for part in pair]
    rows = con.execute(f"""
WITH inputs AS (
    SELECT * FROM {audit} WHERE ({wanted}) AND load_status IN ('loaded', 'rejected', 'empty')
), latest AS (
    SELECT source_system, source_entity, max(started_at) AS at FROM inputs GROUP BY source_system, source_entity
), latest_loads AS (
    SELECT DISTINCT i.source_system, i.source_entity, i.load_id FROM inputs AS i
    JOIN latest ON latest.source_system = i.source_system AND latest.source_entity = i.source_entity
                AND latest.at = i.started_at
)
SELECT i.source_system, i.source_entity, sum(coalesce(i.rows_read, 0)), sum(coalesce(i.rows_quarantined, 0)),
       sum(CASE WHEN i.load_status = 'rejected' THEN 1 ELSE 0 END), count(*)
FROM inputs AS i JOIN latest_loads USING (source_system, source_entity, load_id)
GROUP BY i.source_system, i.source_entity ORDER BY i.source_system, i.source_entity
""", params).fetchall()
    if not rows:
        report.notes.append("input contract: no load of the AP inputs recorded")
        return
    worst = 0.0
    for system, entity, read, quarantined, rejected, files in rows:
        share = float(quarantined) / float(read) if read else 0.0
        worst = max(worst, share)
        if rejected:
            report.problems.append(f"input contract: {rejected} of {files} {system}/{entity} file(s) of the latest load rejected")
        if share > config.max_quarantine_share:
            report.problems.append(f"input contract: {share:.1%} of {system}/{entity} rows quarantined in the latest load "
                                   f"(> {config.max_quarantine_share:.1%})")
    report.figures["max_quarantine_share"] = worst


def drift(current: dict[str, float], reference: dict[str, str] | None, config: GuardConfig, report: GuardReport) -> None:
    """``current``: scorer.profile() of this run; ``reference``: the serving champion's version tags (with
    profile_* tags), None without a champion."""
    keys = ("profile_rule_match_share", "profile_ref_missing_share")
    if not reference or not all(k in reference for k in keys):
        report.notes.append("drift: no champion profile to compare with")
        return
    for key in keys:
        gap = abs(current[key] - float(reference[key]))
        name = key.removeprefix("profile_")
        report.figures[f"drift_{name}"] = gap
        if gap > config.max_drift:
            report.problems.append(f"drift: {name} {current[key]:.1%} vs {float(reference[key]):.1%} when the champion "
                                   f"was trained (|gap| {gap:.1%} > {config.max_drift:.1%})")


def reversal_rate(con: duckdb.DuckDBPyConnection, decisions: pd.DataFrame) -> tuple[int, int] | None:
    """(reversed, machine auto-matches) from the previous run's published outcomes and the decisions store;
    None when the warehouse has no previous outcomes with the machine columns."""
    outcomes = dbt_manifest.relation(OUTCOMES_MODEL)
    if not _relation_exists(con, outcomes):
        return None
    schema, name = outcomes.split(".", 1)
    columns = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = ? "
                                         "AND table_name = ?", [schema, name]).fetchall()}
    if not {"machine_outcome", "machine_po_number"} <= columns:
        return None
    latest = decisions.groupby("invoice_id").tail(1) if len(decisions) else decisions
    latest = latest.reindex(columns=["invoice_id", "action", "po_number"])
    con.register("__recon_latest_decisions", latest)
    try:
        reversed_, auto = con.execute(f"""
SELECT coalesce(sum(CASE WHEN d.invoice_id IS NOT NULL AND (d.action = 'reject'
                          OR coalesce(d.po_number, '') <> coalesce(o.machine_po_number, '')) THEN 1 ELSE 0 END), 0),
       count(*)
FROM {outcomes} AS o LEFT JOIN __recon_latest_decisions AS d ON d.invoice_id = o.invoice_id
WHERE o.machine_outcome = 'auto_matched'
""").fetchone()
    finally:
        con.unregister("__recon_latest_decisions")
    return int(reversed_), int(auto)


def live_kpi(con: duckdb.DuckDBPyConnection, decisions: pd.DataFrame, config: GuardConfig, report: GuardReport) -> None:
    found = reversal_rate(con, decisions)
    if found is None:
        report.notes.append("live KPI: no previous outcomes to compare decisions with")
        return
    reversed_, auto = found
    rate = reversed_ / auto if auto else 0.0
    report.figures.update({"reversed_auto_matches": float(reversed_), "auto_match_reversal_rate": rate})
    if reversed_ >= config.min_reversals and rate > config.max_reversal_rate:
        report.problems.append(f"live KPI: {reversed_} of {auto} auto-matches reversed by reviewers ({rate:.1%} > "
                               f"{config.max_reversal_rate:.1%})")


def check(con: duckdb.DuckDBPyConnection, decisions: pd.DataFrame, current_profile: dict[str, float],
          champion_tags: dict[str, str] | None, config: GuardConfig | None = None) -> GuardReport:
    """Every guard, on the run's candidate warehouse (``con``) before its outcomes are rebuilt."""
    config = config or GuardConfig()
    report = GuardReport()
    input_contract(con, config, report)
    drift(current_profile, champion_tags, config, report)
    live_kpi(con, decisions, config, report)
    return report
