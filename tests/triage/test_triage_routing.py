"""Support triage on the shared tiny warehouse_job run: the classifier beats a majority baseline on the
holdout, low-confidence tickets go to a person, every ticket gets three KB suggestions, models are in MLflow."""
from __future__ import annotations

import pandas as pd

from smb_warehouse.triage.model import HUMAN_REVIEW, TEAMS, TriageConfig, classify
from tests.support import query_df


def test_classifier_beats_majority_baseline_on_holdout(tiny_run):
    routing = query_df(tiny_run["published"], "SELECT * FROM marts.fct_ticket_triage")
    holdout = routing[routing["label_split"] == "holdout"]
    assert len(holdout) >= 10
    majority = routing.loc[routing["label_split"] == "train", "desk_category"].mode().iloc[0]
    accuracy = (holdout["predicted_category"] == holdout["desk_category"]).mean()
    assert accuracy > (holdout["desk_category"] == majority).mean() + 0.2
    assert tiny_run["checks"]["triage/ticket_predictions:classifier_beats_majority_baseline"] is True
    truth = pd.read_csv(tiny_run["truth"] / "ticket_labels.csv", dtype=str)
    merged = routing.merge(truth, left_on="support_ticket_id", right_on="ticket_id")
    assert (merged["predicted_category"] == merged["true_category"]).mean() > 0.6


def test_low_confidence_tickets_are_routed_to_human_review(tiny_run):
    routing = query_df(tiny_run["published"], "SELECT * FROM marts.fct_ticket_triage")
    config = TriageConfig()
    low = (routing["category_confidence"] < config.min_category_confidence) | \
          (routing["priority_confidence"] < config.min_priority_confidence)
    assert (routing.loc[low, "route"] == HUMAN_REVIEW).all()
    assert (~routing.loc[low, "is_auto_triaged"]).all()
    auto = routing[~low]
    assert (auto["route"] == auto["predicted_category"].map(TEAMS)).all()
    kpi = query_df(tiny_run["published"], "SELECT sum(n_triaged) AS n, sum(n_holdout) AS h FROM marts.kpi_triage__tickets")
    assert kpi["n"][0] == len(routing) and kpi["h"][0] > 0


def test_a_strict_threshold_sends_everything_to_a_person(tiny_run):
    """Same classifier with an impossible confidence bar: nothing may be auto-acted."""
    tickets = query_df(tiny_run["published"], "SELECT * FROM intermediate.int_triage__ticket_inputs")
    out, *_ = classify(tickets, TriageConfig(min_category_confidence=1.01))
    assert (out["route"] == HUMAN_REVIEW).all() and not out["is_auto_triaged"].any()


def test_three_kb_suggestions_per_ticket_and_models_registered(tiny_run):
    routing = query_df(tiny_run["published"], "SELECT * FROM marts.fct_ticket_triage")
    assert routing[["kb_article_1", "kb_article_2", "kb_article_3"]].notna().all().all()
    assert routing["category_model_version"].str.startswith("ticket_category_classifier/").all()
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tiny_run['root'] / 'mlflow' / 'mlflow.db'}"
    names = {m.name for m in MlflowClient(tracking_uri=uri, registry_uri=uri).search_registered_models()}
    assert {"ticket_category_classifier", "ticket_priority_classifier", "bank_txn_anomaly_scorer"} <= names
