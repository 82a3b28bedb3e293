"""Evidently reports of the ticket classifiers, one HTML file per kind per run under reports_dir()/triage
(core.reports: named for retention, served by `make ui`):

category_quality_<tag>.html  classification quality (accuracy, precision, recall, F1 overall and per category,
                             confusion matrix) of the category classifier that served, on the held-out
                             desk-labelled tickets (model.holdout_mask: never trained on by any version)
priority_quality_<tag>.html  the same for the priority classifier, on held-out tickets with a desk priority
drift_<tag>.html             inputs (ticket length in words, channel) and predictions (category, priority, both
                             confidences) of tickets created in the last CURRENT_DAYS days of the data (current)
                             against the REFERENCE_DAYS before (reference: the history the classifiers learnt
                             from). The train / holdout split is a hash of the ticket id, so both windows hold
                             the same share of tickets the classifiers trained on.

A quality report needs a classifier (none when the all-to-a-person baseline served) and at least
TriageConfig.gate_min_heldout labelled held-out tickets; a drift report needs MIN_DRIFT_TICKETS tickets a side.
Otherwise the outcome carries a note saying why, shown in the asset metadata instead of a link.
"""
from __future__ import annotations

import pandas as pd

from smb_warehouse.core import reports
from smb_warehouse.core.reports import ReportOutcome
from smb_warehouse.triage.model import TriageConfig

WORKFLOW_DIR = "triage"
CURRENT_DAYS = 90
REFERENCE_DAYS = 365
MIN_DRIFT_TICKETS = 10


def quality(predictions: pd.DataFrame, serving: str, served_by_model: bool, target: str, run_id: str,
            config: TriageConfig) -> ReportOutcome:
    """``category_quality`` (``target`` = "category") or ``priority_quality`` (``target`` = "priority") report
    of what served. ``predictions``: the run's written frame (workflow.TriageRun.predictions: label_split,
    desk_<target>, predicted_<target>). Figures: rows and Evidently's accuracy / precision / recall / f1score."""
    kind = f"{target}_quality"
    if not served_by_model:
        return ReportOutcome(kind, None, f"{serving} served: no classifier whose quality to report")
    held = predictions[(predictions["label_split"] == "holdout") & predictions[f"desk_{target}"].notna()
                       & predictions[f"predicted_{target}"].notna()]
    if len(held) < config.gate_min_heldout:
        return ReportOutcome(kind, None, f"only {len(held)} held-out desk-labelled tickets with a {target} "
                                         f"(< {config.gate_min_heldout}): too few for a quality report")
    frame = pd.DataFrame({"desk": held[f"desk_{target}"].astype(str).to_numpy(),
                          "predicted": held[f"predicted_{target}"].astype(str).to_numpy()})
    html = reports.report_path(WORKFLOW_DIR, kind, run_id)
    figures = reports.classification_report(frame, "desk", html, prediction_labels="predicted")
    return ReportOutcome(kind, html, f"{serving} on {len(frame)} held-out desk-labelled tickets", figures)


def drift(tickets: pd.DataFrame, predictions: pd.DataFrame, run_id: str) -> ReportOutcome:
    """``drift`` report (module docstring). ``tickets``: the run's inputs (support_ticket_id, ticket_text,
    channel, created_at); ``predictions``: the written frame. Figures: reference_tickets, current_tickets,
    columns, drifted_columns, drifted_share."""
    kind = "drift"
    frame = tickets[["support_ticket_id", "ticket_text", "channel", "created_at"]].merge(
        predictions[["support_ticket_id", "predicted_category", "predicted_priority", "category_confidence",
                     "priority_confidence"]], on="support_ticket_id", how="inner")
    frame["ticket_words"] = frame["ticket_text"].fillna("").str.split().str.len().astype(float)
    when = pd.to_datetime(frame["created_at"])
    if when.notna().sum() == 0:
        return ReportOutcome(kind, None, "no dated tickets: no drift report")
    reference, current, window = reports.drift_windows(frame, when, CURRENT_DAYS, REFERENCE_DAYS, "tickets")
    if min(len(current), len(reference)) < MIN_DRIFT_TICKETS:
        return ReportOutcome(kind, None, f"too few tickets for a drift report (< {MIN_DRIFT_TICKETS} a side): {window}")
    html = reports.report_path(WORKFLOW_DIR, kind, run_id)
    figures = reports.drift_report(reference, current, ["ticket_words", "category_confidence", "priority_confidence"],
                                   ["channel", "predicted_category", "predicted_priority"], html)
    figures.update(reference_tickets=float(len(reference)), current_tickets=float(len(current)))
    return ReportOutcome(kind, html, window, figures)
