"""Support triage on the shared tiny warehouse_job run: the classifier beats a majority baseline on the
holdout, low-confidence tickets go to a person, every ticket gets three KB suggestions, models are in MLflow."""
from __future__ import annotations

import pandas as pd
import pytest

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


# ------------------------------------------------------------------ gate, fallbacks, circuit breaker
TRIAGE_KEYS = ("triage/ticket_predictions", "triage/kb_suggestions", "triage/triage_state")


def test_gate_needs_the_margin_over_majority_and_the_champion():
    from smb_warehouse.triage.model import judge

    config = TriageConfig(gate_margin=0.05, priority_gate_margin=0.0, gate_min_heldout=10)
    good = {"holdout_tickets": 50, "holdout_category_accuracy": 0.8, "holdout_majority_baseline": 0.3,
            "holdout_priority_accuracy": 0.6, "holdout_priority_majority_baseline": 0.5}
    assert judge(good, None, True, config).passed
    assert not judge({**good, "holdout_category_accuracy": 0.33}, None, True, config).passed  # within the margin
    assert "priority" in judge({**good, "holdout_priority_accuracy": 0.4}, None, True, config).reason
    assert judge(good, {"holdout_category_accuracy": 0.85}, True, config).reason.startswith("worse than the champion")
    assert judge(good, {"holdout_category_accuracy": 0.8}, True, config).passed  # as good as the champion
    assert not judge(good, None, False, config).passed
    assert "no verdict" in judge({**good, "holdout_tickets": 5}, None, True, config).reason


def test_the_shared_run_serves_its_gated_candidate_and_marks_every_row(tiny_run):
    published = tiny_run["published"]
    state = query_df(published, "SELECT * FROM triage.triage_state").iloc[0]
    assert state["gate_passed"] and not state["is_fallback"] and (state["breaker_state"], state["mode"]) == ("closed", "normal")
    routing = query_df(published, "SELECT * FROM marts.fct_ticket_triage")
    assert set(routing["serving"]) == {state["serving"]} and not routing["is_fallback"].any()
    assert set(routing["run_mode"]) == {"normal"} and routing["is_auto_triaged"].any()
    assert state["serving"] == f"{routing['category_model_version'].iloc[0]} + {routing['priority_model_version'].iloc[0]}"
    assert tiny_run["checks"]["triage/triage_state:triage_breaker_closed"] is True
    health = query_df(published, "SELECT * FROM marts.kpi_ml__workflow_health WHERE workflow = 'support_triage'")
    assert health["health_status"].tolist() == ["ok"]


def test_without_a_champion_a_refused_candidate_sends_every_ticket_to_a_person(tiny_run, tmp_path):
    import shutil

    import duckdb

    from smb_warehouse.core import registry
    from smb_warehouse.triage import tables, workflow
    from tests.support import environment, run_env

    shutil.copyfile(tiny_run["published"], tmp_path / "w.duckdb")
    with environment({**run_env(tmp_path / "data", tiny_run["landing"]), "SMB_TRIAGE_GATE_MARGIN": "2",
                      "SMB_ALERT_WEBHOOK_URL": None, "SMB_ALERT_CHANNEL": None}):
        con = duckdb.connect(str(tmp_path / "w.duckdb"))
        try:
            tickets, articles = tables.read_inputs(con)
            result = workflow.run(con, tickets, articles, "test-no-champion")
            written = con.execute("SELECT DISTINCT route, is_auto_triaged, category_model_version "
                                  "FROM triage.ticket_predictions").fetchall()
        finally:
            con.close()
        assert not result.gate.passed and result.is_fallback and result.serving == workflow.BASELINE
        assert written == [(HUMAN_REVIEW, False, workflow.BASELINE)]
        assert registry.version_info(workflow.CATEGORY_MODEL) is None  # the refused candidate is not champion


@pytest.mark.scenario
def test_refused_candidate_keeps_the_champion_and_the_breaker_sends_everything_to_a_person(tiny_run, tmp_path):
    """On a copy of the shared run: a person opens the triage breaker and the gate refuses every candidate; the
    triage assets and everything downstream run again and publish: the champion serves (marked as a fallback)
    and no ticket is auto-routed."""
    from dagster import AssetKey, AssetSelection, DagsterInstance

    from smb_warehouse.core import safe_mode
    from tests.support import clone_run, environment, run_env, step_failures

    root = clone_run(tiny_run["root"], tmp_path / "data")
    published = root / "warehouse" / "warehouse.duckdb"
    before = query_df(published, "SELECT DISTINCT category_model_version FROM marts.fct_ticket_triage")
    with environment({**run_env(root, tiny_run["landing"]), "SMB_TRIAGE_GATE_MARGIN": "2"}):
        from orchestration.definitions import defs

        safe_mode.open_breaker("support_triage", "all_to_person", "new product line launched", by="Ann", by_kind="person")
        keys = AssetSelection.assets(*[AssetKey.from_user_string(k) for k in TRIAGE_KEYS]).downstream().resolve(
            defs.resolve_asset_graph())
        result = defs.resolve_job_def("warehouse_job").execute_in_process(
            instance=DagsterInstance.ephemeral(), asset_selection=list(keys), raise_on_error=False)
        assert result.success, step_failures(result)
    checks = {f"{e.event_specific_data.asset_key.to_user_string()}:{e.event_specific_data.check_name}":
              bool(e.event_specific_data.passed) for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    assert checks["triage/ticket_predictions:classifier_beats_majority_baseline"] is False
    assert checks["triage/triage_state:triage_breaker_closed"] is False
    routing = query_df(published, "SELECT * FROM marts.fct_ticket_triage")
    assert (routing["route"] == HUMAN_REVIEW).all() and not routing["is_auto_triaged"].any()
    assert set(routing["run_mode"]) == {"all_to_person"} and routing["is_fallback"].all()
    assert set(routing["category_model_version"]) == set(before["category_model_version"])  # the champion served
    assert query_df(published, "SELECT sum(share_auto_triaged * n_triaged) AS n FROM marts.kpi_triage__tickets")["n"][0] == 0
    health = query_df(published, "SELECT * FROM marts.kpi_ml__workflow_health WHERE workflow = 'support_triage'")
    assert health["health_status"].tolist() == ["safe_mode"] and health["breaker_changed_by"].tolist() == ["Ann"]


# ------------------------------------------------------------------ Evidently reports
def test_the_run_links_its_evidently_reports_as_urls_the_reports_server_serves(tiny_run):
    from tests.report_checks import assert_reports_linked_and_served

    files = assert_reports_linked_and_served(tiny_run, "triage/ticket_predictions",
                                             ["category_quality", "priority_quality", "drift"], "triage")
    meta = tiny_run["metadata"]["triage/ticket_predictions"]
    routing = query_df(tiny_run["published"], "SELECT * FROM marts.fct_ticket_triage")
    held = routing[(routing["label_split"] == "holdout") & routing["desk_category"].notna()]
    # the report is on the held-out desk labels, and its accuracy is the one the published rows give
    assert meta["category_quality"]["rows"] == len(held)
    assert meta["category_quality"]["accuracy"] == pytest.approx((held["predicted_category"] == held["desk_category"]).mean())
    assert meta["drift"]["current_tickets"] >= 10 and meta["drift"]["reference_tickets"] >= 10
    assert 0 <= meta["drift"]["drifted_share"] <= 1 and meta["drift"]["columns"] == 6
    assert len(files) == 3


def test_too_few_labels_or_no_classifier_give_a_note_not_a_report(tmp_path):
    from smb_warehouse.triage import monitoring
    from tests.support import environment

    few = pd.DataFrame({"label_split": ["holdout"] * 3 + ["train"] * 20, "desk_category": ["billing"] * 23,
                        "predicted_category": ["billing"] * 23})
    with environment({"SMB_DATA_DIR": str(tmp_path), "SMB_REPORTS_DIR": None}):
        config = TriageConfig(gate_min_heldout=10)
        outcome = monitoring.quality(few, "m/1 + p/1", True, "category", "0123abcd-run", config)
        assert outcome.path is None and "only 3 held-out" in outcome.note
        outcome = monitoring.quality(few, "baseline:all_to_person", False, "category", "0123abcd-run", config)
        assert outcome.path is None and "no classifier" in outcome.note
        tickets = pd.DataFrame({"support_ticket_id": ["T1", "T2"], "ticket_text": ["a b", "c"], "channel": ["email"] * 2,
                                "created_at": pd.to_datetime(["2025-01-01", "2025-06-01"])})
        predictions = pd.DataFrame({"support_ticket_id": ["T1", "T2"], "predicted_category": ["billing"] * 2,
                                    "predicted_priority": ["low"] * 2, "category_confidence": [0.9, 0.8],
                                    "priority_confidence": [0.7, 0.6]})
        outcome = monitoring.drift(tickets, predictions, "0123abcd-run")
        assert outcome.path is None and "too few tickets" in outcome.note
    assert not list(tmp_path.rglob("*.html"))


def _desk(texts: list[str], categories: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"support_ticket_id": [f"T{i}" for i in range(len(texts))], "ticket_text": texts,
                         "desk_category": categories, "desk_priority": ["low", "high"] * (len(texts) // 2)})


def test_terms_of_a_single_ticket_are_not_features_and_a_tiny_desk_still_gets_a_model():
    from smb_warehouse.triage.model import fit_models

    # every ticket names its own order number: with them the vocabulary grew with the ticket count
    texts = [f"Where is my order SO-{1000 + i}? tracking shows no movement" if i % 2 else
             f"Invoice INV-{5000 + i} charged twice, please refund" for i in range(200)]
    categories = ["delivery" if i % 2 else "billing" for i in range(200)]
    config = TriageConfig(holdout_share=0.0)
    category_model, _ = fit_models(_desk(texts, categories), config)
    vocabulary = category_model.named_steps["tfidf"].vocabulary_
    assert not [term for term in vocabulary if any(ch.isdigit() for ch in term)]
    assert {"order", "invoice", "refund", "tracking"} <= set(vocabulary)
    assert list(category_model.predict(["where is my order SO-99999"])) == ["delivery"]

    # a desk where no term is in two tickets: fitted with every term rather than refused
    tiny, _ = fit_models(_desk(["parcel lost", "refund asked", "box missing", "invoice wrong"],
                               ["delivery", "billing", "delivery", "billing"]), TriageConfig(holdout_share=0.0))
    assert tiny is not None and {"parcel", "refund", "box", "invoice"} <= set(tiny.named_steps["tfidf"].vocabulary_)


def test_kb_retrieval_ranks_by_cosine_with_the_category_nudge_and_any_chunk_size_gives_the_same_rows():
    from smb_warehouse.triage.model import retrieve_kb

    articles = pd.DataFrame({
        "support_article_id": ["KB-1", "KB-2", "KB-3", "KB-4"],
        "title": ["Refund a double charge", "Track a late parcel", "Track a late parcel", "Reset your password"],
        "body": ["Billing refunds for invoices charged twice.", "Where is my parcel: tracking steps.",
                 "Where is my parcel: tracking steps.", "Password and login help."],
        "category": ["billing", "delivery", "how_to", "how_to"]})
    texts = ["invoice charged twice, refund please", "parcel late, tracking shows nothing",
             "cannot login, password reset", "parcel late, tracking shows nothing", "nothing in common here"] * 3
    tickets = pd.DataFrame({"support_ticket_id": [f"T{i}" for i in range(len(texts))], "ticket_text": texts})
    predicted = pd.Series(["billing", "delivery", "how_to", "how_to", "other"] * 3)
    config = TriageConfig()
    whole = retrieve_kb(tickets, predicted, articles, config, chunk_tickets=10_000)
    assert list(whole.columns) == ["support_ticket_id", "suggestion_rank", "support_article_id", "similarity"]
    assert len(whole) == 3 * len(tickets)
    first = whole[whole["suggestion_rank"] == 1].set_index("support_ticket_id")["support_article_id"]
    assert first["T0"] == "KB-1" and first["T2"] == "KB-4"
    # KB-2 and KB-3 are the same text: the predicted category decides which comes first
    assert first["T1"] == "KB-2" and first["T3"] == "KB-3"
    pair = whole[whole["support_ticket_id"].isin(["T1", "T3"]) & (whole["suggestion_rank"] <= 2)]
    assert pair["similarity"].nunique() == 1 and 0.2 < pair["similarity"].iloc[0] < 1  # the cosine, not the boost
    # nothing shared with any article: cosine 0, the article of the predicted category first, then article order
    assert whole.loc[whole["support_ticket_id"] == "T4", "similarity"].eq(0).all()
    for chunk in (1, 2, 7):
        pd.testing.assert_frame_equal(retrieve_kb(tickets, predicted, articles, config, chunk_tickets=chunk), whole)
    with pytest.raises(ValueError, match="chunk_tickets"):
        retrieve_kb(tickets, predicted, articles, config, chunk_tickets=0)
