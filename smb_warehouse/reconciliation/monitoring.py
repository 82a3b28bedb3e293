"""Evidently reports of the invoice_match_scorer, one HTML file per kind per run under
reports_dir()/reconciliation (core.reports: named for retention, served by `make ui`):

match_quality_<tag>.html   classification quality of what served (a registered scorer version) on the gate's
                           held-out labelled pairs (scorer.Serving.heldout: bootstrap cases of held-out invoices
                           and their review decisions): accuracy, precision, recall, F1, ROC AUC, log loss,
                           confusion matrix and PR curve, a pair predicted a match at the outcome model's
                           auto_match_threshold. Pair level and unweighted (the gate's case-level, cost-weighted
                           utility is in the scorer_beats_rule_baseline check). None when rules only served (no
                           scorer) or with fewer than GateConfig.min_heldout_cases held-out cases / one class.
drift_<tag>.html           the scorer's input features (features.FEATURES) and its served match_score:
                           candidate pairs of invoices dated in the last CURRENT_DAYS days of the data (current)
                           against those of the REFERENCE_DAYS before (reference: the history the scorer learnt
                           from). None when either side has fewer than MIN_DRIFT_PAIRS pairs.

Every run rescores every pair (the candidate model is rebuilt from all invoices), so the windows, not the run,
say what is new. Reports never stop the run's outcome: a missing one is a note in the asset metadata.
"""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from smb_warehouse.core import dbt_manifest, reports
from smb_warehouse.core.reports import ReportOutcome
from smb_warehouse.reconciliation.config import GateConfig, MatchRules
from smb_warehouse.reconciliation.features import FEATURES, matrix
from smb_warehouse.reconciliation.gate import CASE
from smb_warehouse.reconciliation.scorer import Serving

WORKFLOW_DIR = "reconciliation"
CURRENT_DAYS = 90
REFERENCE_DAYS = 365
MIN_DRIFT_PAIRS = 20
# 0/1 features compared as categories (a two-value column has no distribution shape for K-S to test)
BINARY_FEATURES = ("ref_missing", "ref_exact", "same_supplier", "same_currency", "has_receipt", "date_in_window",
                   "duplicate_signal")


def match_quality(serving: Serving, run_id: str, rules: MatchRules, gate_config: GateConfig) -> ReportOutcome:
    """``match_quality`` report of the scorer that served on ``serving.heldout`` (module docstring). Figures:
    rows (pairs), cases, positives and Evidently's accuracy / precision / recall / f1score / rocauc / logloss."""
    kind, heldout = "match_quality", serving.heldout
    if serving.scorer is None or serving.scorer.model is None:
        return ReportOutcome(kind, None, f"{serving.label} served: no scorer whose quality to report")
    cases = int(heldout[CASE].drop_duplicates().shape[0]) if len(heldout) else 0
    if cases < gate_config.min_heldout_cases:
        return ReportOutcome(kind, None, f"only {cases} held-out labelled cases (< {gate_config.min_heldout_cases}): "
                                         "too few for a quality report")
    if heldout["label"].nunique() < 2:
        return ReportOutcome(kind, None, f"held-out pairs carry one label only ({int(heldout['label'].iloc[0])}): "
                                         "no quality report")
    frame = pd.DataFrame({"label": heldout["label"].astype(int).to_numpy(), "match_score": serving.score(heldout)})
    html = reports.report_path(WORKFLOW_DIR, kind, run_id)
    figures = reports.classification_report(frame, "label", html, prediction_probas="match_score",
                                            probas_threshold=rules.auto_match_threshold)
    figures.update(cases=float(cases), positives=float(frame["label"].sum()))
    return ReportOutcome(kind, html, f"{serving.label} on {cases} held-out cases ({len(frame)} pairs)", figures)


def invoice_dates(con: duckdb.DuckDBPyConnection) -> pd.Series:
    """invoice_id -> invoice_date (datetime64) of every AP invoice, from marts.fct_ap_invoices."""
    rows = con.execute(f"SELECT finance_ap_invoice_id AS invoice_id, invoice_date FROM "
                       f"{dbt_manifest.relation('fct_ap_invoices')}").df()
    return pd.to_datetime(rows.set_index("invoice_id")["invoice_date"])


def drift(candidates: pd.DataFrame, match_score: np.ndarray, dates: pd.Series, run_id: str) -> ReportOutcome:
    """``drift`` report of the scorer's features and served score (module docstring). ``candidates``: the run's
    candidate pairs (tables.read_candidates); ``match_score``: one served score per row; ``dates``:
    ``invoice_dates``. Figures: reference_pairs, current_pairs, columns, drifted_columns, drifted_share."""
    kind = "drift"
    frame = matrix(candidates.reset_index(drop=True))
    frame["match_score"] = np.asarray(match_score, dtype=float)
    when = candidates["invoice_id"].map(dates).reset_index(drop=True)
    if when.notna().sum() == 0:
        return ReportOutcome(kind, None, "no dated candidate pairs: no drift report")
    reference, current, window = reports.drift_windows(frame, when, CURRENT_DAYS, REFERENCE_DAYS, "pairs")
    if min(len(current), len(reference)) < MIN_DRIFT_PAIRS:
        return ReportOutcome(kind, None, f"too few pairs for a drift report (< {MIN_DRIFT_PAIRS} a side): {window}")
    binary = [c for c in FEATURES if c in BINARY_FEATURES]
    for col in binary:  # "0" / "1"; NaN (date_in_window without a date gap) stays missing: "<missing>"
        frame[col] = frame[col].map({0.0: "0", 1.0: "1"})
    numerical = [c for c in FEATURES if c not in BINARY_FEATURES] + ["match_score"]
    html = reports.report_path(WORKFLOW_DIR, kind, run_id)
    figures = reports.drift_report(frame.loc[reference.index], frame.loc[current.index], numerical, binary, html)
    figures.update(reference_pairs=float(len(reference)), current_pairs=float(len(current)))
    return ReportOutcome(kind, html, window, figures)
