"""AP reconciliation end to end at tiny scale: the shared complete run's outcomes checked against the
generator's known answers and its blocking, gate and serving marks; then, on copies of that run, the
human-review round trip (decisions made through the CLI, a subprocess, change the next run's outcomes, stay in the
append-only audit trail and retrain the scorer, which is otherwise reused), and the ways the workflow degrades
without stopping: a refused candidate keeps the champion, no champion means rules only, and with the circuit
breaker open (by a person, or by a guard) the published outcomes hold no auto-match at all."""
from __future__ import annotations

import csv
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from dagster import DagsterInstance

from smb_warehouse.core.paths import PROJECT_ROOT
from tests.conftest import start_local_webhook
from tests.support import clone_run, environment, query, query_df, run_env, step_failures

MATCHABLE = ("exact", "split_delivery", "wrong_po_typo", "wrong_po_other", "no_po")


def _cli(root: Path, module: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SMB_DATA_DIR": str(root)}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def _review(root: Path, *args: str) -> subprocess.CompletedProcess:
    return _cli(root, "smb_warehouse.reconciliation.review", *args)


def _apply(recon) -> dict[str, bool]:
    """Run apply_review_decisions_job (scorer, its downstream models, the safe-mode copy, publish) on the clone;
    returns its asset checks {"<asset>:<check>": passed}."""
    result = recon["defs"].resolve_job_def("apply_review_decisions_job").execute_in_process(
        instance=DagsterInstance.ephemeral(), raise_on_error=False)
    assert result.success, step_failures(result)
    return {f"{e.event_specific_data.asset_key.to_user_string()}:{e.event_specific_data.check_name}":
            bool(e.event_specific_data.passed) for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}


def _state(published: Path) -> dict:
    return query_df(published, "SELECT * FROM reconciliation.scoring_state").iloc[0].to_dict()


def _answers(truth: Path) -> dict[str, dict]:
    with open(truth / "ap_invoice_matches.csv", newline="") as fh:
        return {r["invoice_id"]: r for r in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def recon(tiny_run: dict):
    """The shared complete run, read only (its MLflow store is where the scorer versions are)."""
    with environment(run_env(tiny_run["root"], tiny_run["landing"])):
        yield {"root": tiny_run["root"], "answers": _answers(tiny_run["truth"]), "published": tiny_run["published"],
               "checks": tiny_run["checks"]}


@pytest.fixture()
def recon_clone(tiny_run: dict, tmp_path: Path):
    """A private copy of the shared run for the review round trip (it records decisions and runs again)."""
    root = clone_run(tiny_run["root"], tmp_path / "data")
    with environment(run_env(root, tiny_run["landing"])):
        from orchestration.definitions import defs

        yield {"root": root, "defs": defs, "published": root / "warehouse" / "warehouse.duckdb"}


def _outcomes(recon) -> dict[str, dict]:
    rows = query(recon["published"], "SELECT invoice_id, outcome, exception_reason, matched_po_number, match_method, "
                                       "model_version FROM marts.fct_ap_invoice_outcomes")
    return {r[0]: dict(zip(["invoice_id", "outcome", "reason", "po", "method", "model_version"], r)) for r in rows}


def test_exact_invoices_auto_match_to_their_po(recon):
    outcomes, answers = _outcomes(recon), recon["answers"]
    exact = [i for i, a in answers.items() if a["scenario"] == "exact" and i in outcomes]
    assert len(exact) > 50
    auto = [i for i in exact if outcomes[i]["outcome"] == "auto_matched"]
    assert len(auto) / len(exact) >= 0.95
    assert all(outcomes[i]["po"] == answers[i]["true_po_number"] for i in auto)
    assert {outcomes[i]["method"] for i in auto} <= {"rule:three_way_match", "model:invoice_match_scorer"}


def test_no_wrong_auto_match_and_scorer_finds_missing_references(recon):
    outcomes, answers = _outcomes(recon), recon["answers"]
    auto = [i for i, o in outcomes.items() if o["outcome"] == "auto_matched" and i in answers]
    wrong = [i for i in auto if outcomes[i]["po"] != answers[i]["true_po_number"]
             or answers[i]["scenario"] in ("duplicate", "no_po_expected", "price_variance")]
    assert len(wrong) <= 0.005 * len(auto) + 1, wrong
    # invoices with a wrong or missing PO reference can only be matched by the scorer
    rescued = [i for i in auto if answers[i]["scenario"] in ("no_po", "wrong_po_typo", "wrong_po_other")]
    assert rescued and all(outcomes[i]["method"] == "model:invoice_match_scorer" for i in rescued)


def test_duplicates_and_po_less_invoices_are_exceptions_with_the_right_reason(recon):
    outcomes, answers = _outcomes(recon), recon["answers"]
    duplicates = [i for i, a in answers.items() if a["scenario"] == "duplicate" and i in outcomes]
    service = [i for i, a in answers.items() if a["scenario"] == "no_po_expected" and i in outcomes]
    assert duplicates and service
    assert all((outcomes[i]["outcome"], outcomes[i]["reason"]) == ("exception", "duplicate_invoice") for i in duplicates)
    assert all((outcomes[i]["outcome"], outcomes[i]["reason"]) == ("exception", "no_po_reference") for i in service)


def test_scores_carry_the_registered_model_version_and_kpis_add_up(recon):
    from smb_warehouse.core import tracking

    versions = {o["model_version"] for o in _outcomes(recon).values() if o["model_version"]}
    registered = {str(v.version) for v in tracking.configure().search_model_versions("name = 'invoice_match_scorer'")}
    assert versions and versions <= registered
    n_invoices, n_auto, n_exc = query(recon["published"], "SELECT sum(n_invoices), sum(n_auto_matched), sum(n_exceptions) "
                                                           "FROM marts.kpi_ap_recon__outcomes")[0]
    assert n_invoices == len(_outcomes(recon)) and n_auto + n_exc == n_invoices


def test_blocking_keeps_candidates_per_invoice_few_and_every_true_po(recon):
    from smb_warehouse.reconciliation.config import dbt_vars

    pairs, invoices, widest = query(recon["published"], """
        SELECT count(*), count(DISTINCT invoice_id), max(n)
        FROM (SELECT invoice_id, count(*) OVER (PARTITION BY invoice_id) AS n FROM intermediate.int_ap_recon__candidates)""")[0]
    assert pairs / invoices <= dbt_vars()["recon_block_top_k"] + 1 and widest <= 3 * dbt_vars()["recon_block_top_k"]
    found = set(query(recon["published"], "SELECT invoice_id, po_number FROM intermediate.int_ap_recon__candidates"))
    outcomes, answers = _outcomes(recon), recon["answers"]
    should = [i for i, a in answers.items() if a["scenario"] in MATCHABLE and i in outcomes]
    assert len(should) > 100
    missed = [i for i in should if (i, answers[i]["true_po_number"]) not in found]
    assert len(missed) <= 0.01 * len(should), missed


def test_gate_serving_and_breaker_are_marked_in_every_row(recon):
    published, state = recon["published"], _state(recon["published"])
    assert state["gate_passed"] and not state["is_fallback"] and state["candidate_utility"] > state["baseline_utility"]
    assert state["serving"] == f"invoice_match_scorer v{state['model_version']}"
    assert state["model_version"] == state["candidate_version"]
    assert (state["breaker_state"], state["mode"]) == ("closed", "normal")
    rows = query(published, "SELECT DISTINCT serving, is_fallback, run_mode FROM marts.fct_ap_invoice_outcomes")
    assert rows == [(state["serving"], False, "normal")]
    scores = query(published, "SELECT DISTINCT serving, is_fallback FROM reconciliation.candidate_scores")
    assert scores == [(state["serving"], False)]
    assert recon["checks"]["reconciliation/candidate_scores:scorer_beats_rule_baseline"] is True
    assert recon["checks"]["reconciliation/scoring_state:ap_breaker_closed"] is True
    run = query_df(published, "SELECT * FROM ml.workflow_run_outcomes WHERE workflow = 'ap_reconciliation'")
    assert len(run) == 1 and run["serving"][0] == state["serving"] and not run["degraded"][0] and run["gate_passed"][0]
    health = query(published, "SELECT health_status FROM marts.kpi_ml__workflow_health WHERE workflow = 'ap_reconciliation'")
    assert health == [("ok",)]
    from smb_warehouse.core import registry

    champion = registry.version_info("invoice_match_scorer")
    assert str(champion.version) == state["model_version"] and champion.tags["gate_status"] == "promoted"
    assert champion.tags["gate_reason"].startswith("passed:")
    assert champion.tags["training_fingerprint"] and champion.tags["data_fingerprint"]


def test_without_a_champion_a_refused_candidate_serves_rules_only(tiny_run, tmp_path):
    """A fresh MLflow store (no champion) and a gate no model can pass: the run still writes scores, all from the
    rule-only baseline, marked as a fallback; the refused version is tagged, never made champion."""
    import duckdb

    from smb_warehouse.core import registry, safe_mode
    from smb_warehouse.reconciliation import decisions, scorer, workflow

    shutil.copyfile(tiny_run["published"], tmp_path / "w.duckdb")
    with environment({**run_env(tmp_path / "data", tiny_run["landing"]), "SMB_RECON_GATE_MARGIN": "5",
                      "SMB_ALERT_WEBHOOK_URL": None, "SMB_ALERT_CHANNEL": None}):
        con = duckdb.connect(str(tmp_path / "w.duckdb"))
        try:
            result = workflow.run(con, decisions.load(), "test-no-champion")
            written = con.execute("SELECT DISTINCT model_version, serving, is_fallback "
                                  "FROM reconciliation.candidate_scores").fetchall()
            top = con.execute("SELECT max(match_score) FROM reconciliation.candidate_scores").fetchone()[0]
        finally:
            con.close()
        assert not result.serving.gate.passed and "rule-only baseline" in result.serving.gate.reason
        assert written == [("rules_only", "baseline:rules_only", True)] and top == 0
        version = result.serving.candidate.version
        assert registry.version_info(scorer.MODEL_NAME) is None  # no champion alias
        assert registry.version_info(scorer.MODEL_NAME, version).tags["gate_status"] == "refused"
        outcome = safe_mode.run_outcomes("ap_reconciliation").iloc[-1]
        assert outcome["serving"] == "baseline:rules_only" and outcome["degraded"] and not outcome["gate_passed"]


@pytest.mark.scenario
def test_review_decisions_change_the_next_run_and_stay_in_the_audit_trail(recon_clone):
    recon = recon_clone
    root, published = recon["root"], recon["published"]
    before, state_before = _outcomes(recon), _state(published)
    queued = _review(root, "list", "--limit", "500")
    assert queued.returncode == 0, queued.stderr
    to_reject = next(i for i, o in sorted(before.items()) if o["reason"] == "duplicate_invoice")
    to_approve = next(i for i, o in sorted(before.items()) if o["reason"] == "price_variance")
    to_reassign = next(i for i, o in sorted(before.items()) if o["method"] == "rule:three_way_match")
    other_po = query(published, "SELECT min(erp_po_number) FROM marts.fct_purchase_order_lines WHERE erp_po_number <> ?",
                      [before[to_reassign]["po"]])[0][0]
    assert to_reject in queued.stdout and to_approve in queued.stdout

    for args in (("reject", to_reject, "--by", "Ada", "--why", "vendor re-sent invoice"),
                 ("approve", to_approve, "--by", "Ada", "--why", "price increase agreed by purchasing"),
                 ("reassign", to_reassign, "--po", other_po, "--by", "Bob", "--why", "delivery booked on wrong PO"),
                 ("reassign", to_reassign, "--po", before[to_reassign]["po"], "--by", "Cy", "--why", "Bob was wrong")):
        done = _review(root, *args)
        assert done.returncode == 0, done.stderr
    assert _review(root, "approve", to_approve, "--po", "PO-999999", "--by", "Ada", "--why", "x").returncode == 2

    _apply(recon)

    after = _outcomes(recon)
    assert (after[to_reject]["outcome"], after[to_reject]["po"]) == ("rejected_by_review", None)
    suggested = query(published, "SELECT suggested_po_number FROM marts.fct_ap_invoice_outcomes WHERE invoice_id = ?",
                       [to_approve])  # approve without --po takes the suggested PO
    assert after[to_approve]["outcome"] == "matched_by_review" and after[to_approve]["po"] is not None
    assert suggested[0][0] is None  # no longer an exception
    assert (after[to_reassign]["outcome"], after[to_reassign]["po"]) == ("matched_by_review", before[to_reassign]["po"])
    assert after[to_reassign]["method"] == "review:reassign"
    queue = {r[0] for r in query(published, "SELECT invoice_id FROM marts.fct_ap_review_queue")}
    assert not queue & {to_reject, to_approve}
    # the review CLI says how much of the queue it shows, and why the queue changed since the previous publish
    listed = _review(root, "list", "--limit", "3")
    assert listed.returncode == 0, listed.stderr
    assert f"showing 3 of {len(queue)} invoice(s) waiting for review (--limit 3; oldest first)" in listed.stdout
    changed = re.search(r"since the previous publish \(published [^)]+\): \+(\d+) entered \((\d+) invoices new in this "
                        r"load, (\d+) earlier invoices re-scored into review\), -(\d+) left \((\d+) by a review decision",
                        listed.stdout)
    assert changed, listed.stdout
    assert int(changed[2]) == 0 and int(changed[5]) == 2  # no new invoices; the rejected and the approved one

    # audit trail: every decision kept (both reassignments), with who and why, in the store and the warehouse
    trail = query(published, "SELECT decided_by, reason FROM reconciliation.review_decisions WHERE invoice_id = ? "
                              "ORDER BY decided_at", [to_reassign])
    assert trail == [("Bob", "delivery booked on wrong PO"), ("Cy", "Bob was wrong")]
    shown = _review(root, "show", to_reassign)
    assert shown.returncode == 0 and "Bob was wrong" in shown.stdout and "delivery booked on wrong PO" in shown.stdout
    store = sqlite3.connect(str(root / "review" / "ap_decisions.sqlite"))
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.execute("UPDATE decisions SET decided_by = 'Eve'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.execute("DELETE FROM decisions")
    store.close()
    # the decisions were labels: a new candidate was trained with them (and judged: it serves unless refused)
    state = _state(published)
    assert state["candidate_version"] != state_before["candidate_version"] and not state["candidate_reused"]
    assert {o["model_version"] for o in after.values() if o["model_version"]} == {state["model_version"]}
    # the reassigned rule match was reversed and moved back to the machine's PO: not a reversal
    assert query(published, "SELECT is_auto_match_reversed FROM marts.fct_ap_invoice_outcomes WHERE invoice_id = ?",
                 [to_reassign]) == [(False,)]


@pytest.mark.scenario
def test_refused_candidate_keeps_the_champion_and_an_open_breaker_stops_every_auto_match(recon_clone):
    """Three runs on one copy: (1) a person opens the breaker and the gate refuses every candidate: the champion
    still scores (marked as a fallback, alerted) but the published outcomes hold no auto-match, and the run's
    healthy guards do not lift a person's freeze; (2) after the person closes it, a guard (input contract) opens
    it again; (3) a healthy run closes what the run opened. Nothing changed in data or decisions, so no run fits
    a new scorer: each reuses the registered version."""
    root, published = recon_clone["root"], recon_clone["published"]
    champion = _state(published)["model_version"]

    opened = _cli(root, "smb_warehouse.core.safe_mode", "open", "ap_reconciliation", "--mode", "all_to_review",
                  "--by", "Ann", "--why", "supplier master audit")
    assert opened.returncode == 0, opened.stderr
    url, stop, received = start_local_webhook()
    try:
        with environment({"SMB_RECON_GATE_MARGIN": "5", "SMB_ALERT_WEBHOOK_URL": url, "SMB_ALERT_CHANNEL": None}):
            checks = _apply(recon_clone)
    finally:
        stop()
    state = _state(published)
    assert not state["gate_passed"] and state["is_fallback"] and state["model_version"] == champion
    assert state["candidate_reused"] and state["candidate_version"] == champion
    assert checks["reconciliation/candidate_scores:scorer_beats_rule_baseline"] is False  # WARN: the run published
    rows = query(published, "SELECT DISTINCT serving, is_fallback FROM marts.fct_ap_invoice_outcomes")
    assert rows == [(f"invoice_match_scorer v{champion}", True)]
    assert any("refused" in r["body"]["subject"] for r in received)
    _assert_safe_mode(published, checks)
    log = query_df(published, "SELECT * FROM marts.fct_workflow_mode_changes WHERE workflow = 'ap_reconciliation'")
    assert list(log["changed_by"]) == ["Ann"]  # the run's healthy guards did not close a person's breaker
    run = query_df(published, "SELECT * FROM ml.workflow_run_outcomes WHERE workflow = 'ap_reconciliation' "
                              "ORDER BY recorded_at DESC LIMIT 1")
    assert run["degraded"][0] and not run["gate_passed"][0] and run["breaker_state"][0] == "open"

    closed = _cli(root, "smb_warehouse.core.safe_mode", "close", "ap_reconciliation", "--by", "Ann", "--why", "audit done")
    assert closed.returncode == 0, closed.stderr
    with environment({"SMB_RECON_MAX_QUARANTINE_SHARE": "-1"}):  # any quarantined share breaches the contract
        checks = _apply(recon_clone)
    _assert_safe_mode(published, checks)
    last = query_df(published, "SELECT * FROM ml.workflow_safe_mode_log WHERE workflow = 'ap_reconciliation' ORDER BY seq")
    assert list(zip(last["state"], last["changed_by_kind"])) == [("open", "person"), ("closed", "person"), ("open", "run")]
    assert last["reason"].iloc[-1].startswith("input contract:") and last["dagster_run_id"].iloc[-1]
    state = _state(published)
    assert state["gate_passed"] and not state["is_fallback"] and state["candidate_reused"]

    checks = _apply(recon_clone)  # guards healthy again: the run closes what a run opened
    assert checks["reconciliation/scoring_state:ap_breaker_closed"] is True
    assert query(published, "SELECT DISTINCT run_mode FROM marts.fct_ap_invoice_outcomes") == [("normal",)]
    assert query(published, "SELECT count(*) FROM marts.fct_ap_invoice_outcomes WHERE outcome = 'auto_matched'")[0][0] > 0
    kinds = query(published, "SELECT state, changed_by_kind FROM ml.workflow_safe_mode_log "
                             "WHERE workflow = 'ap_reconciliation' ORDER BY seq")
    assert kinds[-1] == ("closed", "run")
    assert query(published, "SELECT health_status FROM marts.kpi_ml__workflow_health "
                            "WHERE workflow = 'ap_reconciliation'") == [("ok",)]
    assert _state(published)["candidate_version"] == champion


def _assert_safe_mode(published: Path, checks: dict[str, bool]) -> None:
    """The published outcomes of a run with the AP breaker open: no auto-match; what the machine would have
    matched is a safe_mode exception suggesting its PO; every undecided invoice waits in the review queue."""
    out = query_df(published, "SELECT * FROM marts.fct_ap_invoice_outcomes")
    assert (out["outcome"] != "auto_matched").all()
    held = out[out["machine_outcome"] == "auto_matched"]
    assert len(held) > 50 and (held["exception_reason"] == "safe_mode").all()
    assert (held["suggested_po_number"] == held["machine_po_number"]).all()
    assert set(out["run_mode"]) == {"all_to_review"}
    undecided = out[out["decision_id"].isna()]
    queue = query(published, "SELECT count(*) FROM marts.fct_ap_review_queue")[0][0]
    assert queue == len(undecided)
    kpi = query(published, "SELECT sum(n_auto_matched), sum(n_held_by_safe_mode) FROM marts.kpi_ap_recon__outcomes")[0]
    assert kpi == (0, len(held))
    assert checks["reconciliation/scoring_state:ap_breaker_closed"] is False
    assert query(published, "SELECT health_status FROM marts.kpi_ml__workflow_health "
                            "WHERE workflow = 'ap_reconciliation'") == [("safe_mode",)]
    assert pd.notna(_state(published)["breaker_reason"])


def test_the_run_links_its_evidently_reports_as_urls_the_reports_server_serves(tiny_run):
    """The serving scorer's quality on the gate's held-out pairs and the drift of its features and scores, each
    an Evidently HTML file linked by URL (served by `make ui`'s reports server) from candidate_scores."""
    from tests.report_checks import assert_reports_linked_and_served

    assert_reports_linked_and_served(tiny_run, "reconciliation/candidate_scores", ["match_quality", "drift"],
                                     "reconciliation")
    meta = tiny_run["metadata"]["reconciliation/candidate_scores"]
    quality, drift = meta["match_quality"], meta["drift"]
    assert quality["cases"] >= 20 and 0 < quality["positives"] < quality["rows"]
    assert 0.5 < quality["accuracy"] <= 1 and 0 <= quality["rocauc"] <= 1
    assert meta["serving"] in quality["note"]
    assert drift["current_pairs"] >= 20 and drift["reference_pairs"] >= 20 and drift["columns"] == 16


def test_rules_only_or_too_few_held_out_cases_give_a_note_not_a_report(tmp_path):
    from smb_warehouse.reconciliation import monitoring
    from smb_warehouse.reconciliation.config import GateConfig, MatchRules
    from smb_warehouse.reconciliation.gate import GateResult
    from smb_warehouse.reconciliation.scorer import BASELINE, Serving, TrainedScorer

    gate = GateResult(False, "refused", 0, None, None, None)
    rules = MatchRules(auto_match_threshold=0.8, min_score_margin=0.1, review_threshold=0.3)
    heldout = pd.DataFrame({"invoice_id": ["AP-1", "AP-1", "AP-2"], "variant": ["as_keyed"] * 3, "label": [1, 0, 1]})
    with environment({"SMB_DATA_DIR": str(tmp_path), "SMB_REPORTS_DIR": None}):
        rules_only = Serving(None, BASELINE, "rules_only", True, gate, TrainedScorer(None, "untrained"), heldout)
        outcome = monitoring.match_quality(rules_only, "0123abcd-run", rules, GateConfig(min_heldout_cases=20))
        assert outcome.path is None and "no scorer" in outcome.note

        class Half:
            def predict_proba(self, x):
                return [[0.5, 0.5]] * len(x)

        model = TrainedScorer(Half(), "3", reused=True)
        few = Serving(model, "invoice_match_scorer v3", "3", False, gate, model, heldout)
        outcome = monitoring.match_quality(few, "0123abcd-run", rules, GateConfig(min_heldout_cases=20))
        assert outcome.path is None and "only 2 held-out labelled cases" in outcome.note
    assert not list(tmp_path.rglob("*.html"))
