"""AP reconciliation end to end at tiny scale: one pipeline run (everything the reconciliation needs, then
publish), outcomes checked against the generator's known answers, then the human-review round trip: decisions
made through the CLI (a subprocess) change the next run's outcomes and stay in the append-only audit trail."""
from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, AssetSelection, DagsterInstance

from smb_warehouse.core.paths import PROJECT_ROOT

OUTPUT_KEYS = [AssetKey(["marts", "kpi_ap_recon__outcomes"]), AssetKey(["marts", "fct_ap_review_queue"]),
               # the facts' relationship tests run in the same dbt step and need these dims
               AssetKey(["marts", "dim_supplier"]), AssetKey(["marts", "dim_product"])]


def _query(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _review(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SMB_DATA_DIR": str(root)}
    return subprocess.run([sys.executable, "-m", "smb_warehouse.reconciliation.review", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def recon(tiny_sources: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory):
    landing, truth = tiny_sources
    root = tmp_path_factory.mktemp("recon")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SMB_DATA_DIR", str(root))
        mp.setenv("SMB_LANDING_DIR", str(landing))
        from orchestration.definitions import defs

        # The reconciliation, everything upstream of it, and publish (other workflows are not needed here).
        graph = defs.resolve_asset_graph()
        keys = AssetSelection.assets(*OUTPUT_KEYS).upstream().required_multi_asset_neighbors().resolve(graph) | {AssetKey("published_warehouse")}
        job = defs.resolve_job_def("warehouse_job")
        result = job.execute_in_process(instance=DagsterInstance.ephemeral(), asset_selection=list(keys), raise_on_error=False)
        assert result.success, [e.message for e in result.all_events if e.is_step_failure]
        with open(truth / "ap_invoice_matches.csv", newline="") as fh:
            answers = {r["invoice_id"]: r for r in csv.DictReader(fh)}
        yield {"root": root, "defs": defs, "answers": answers, "published": root / "warehouse" / "warehouse.duckdb"}


def _outcomes(recon) -> dict[str, dict]:
    rows = _query(recon["published"], "SELECT invoice_id, outcome, exception_reason, matched_po_number, match_method, "
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
    n_invoices, n_auto, n_exc = _query(recon["published"], "SELECT sum(n_invoices), sum(n_auto_matched), sum(n_exceptions) "
                                                           "FROM marts.kpi_ap_recon__outcomes")[0]
    assert n_invoices == len(_outcomes(recon)) and n_auto + n_exc == n_invoices


def test_review_decisions_change_the_next_run_and_stay_in_the_audit_trail(recon):
    root, published = recon["root"], recon["published"]
    before = _outcomes(recon)
    queued = _review(root, "list", "--limit", "500")
    assert queued.returncode == 0, queued.stderr
    to_reject = next(i for i, o in sorted(before.items()) if o["reason"] == "duplicate_invoice")
    to_approve = next(i for i, o in sorted(before.items()) if o["reason"] == "price_variance")
    to_reassign = next(i for i, o in sorted(before.items()) if o["method"] == "rule:three_way_match")
    other_po = _query(published, "SELECT min(erp_po_number) FROM marts.fct_purchase_order_lines WHERE erp_po_number <> ?",
                      [before[to_reassign]["po"]])[0][0]
    assert to_reject in queued.stdout and to_approve in queued.stdout

    for args in (("reject", to_reject, "--by", "Ada", "--why", "vendor re-sent invoice"),
                 ("approve", to_approve, "--by", "Ada", "--why", "price increase agreed by purchasing"),
                 ("reassign", to_reassign, "--po", other_po, "--by", "Bob", "--why", "delivery booked on wrong PO"),
                 ("reassign", to_reassign, "--po", before[to_reassign]["po"], "--by", "Cy", "--why", "Bob was wrong")):
        done = _review(root, *args)
        assert done.returncode == 0, done.stderr
    assert _review(root, "approve", to_approve, "--po", "PO-999999", "--by", "Ada", "--why", "x").returncode == 2

    result = recon["defs"].resolve_job_def("apply_review_decisions_job").execute_in_process(
        instance=DagsterInstance.ephemeral(), raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_step_failure]

    after = _outcomes(recon)
    assert (after[to_reject]["outcome"], after[to_reject]["po"]) == ("rejected_by_review", None)
    suggested = _query(published, "SELECT suggested_po_number FROM marts.fct_ap_invoice_outcomes WHERE invoice_id = ?",
                       [to_approve])  # approve without --po takes the suggested PO
    assert after[to_approve]["outcome"] == "matched_by_review" and after[to_approve]["po"] is not None
    assert suggested[0][0] is None  # no longer an exception
    assert (after[to_reassign]["outcome"], after[to_reassign]["po"]) == ("matched_by_review", before[to_reassign]["po"])
    assert after[to_reassign]["method"] == "review:reassign"
    queue = {r[0] for r in _query(published, "SELECT invoice_id FROM marts.fct_ap_review_queue")}
    assert not queue & {to_reject, to_approve}

    # audit trail: every decision kept (both reassignments), with who and why, in the store and the warehouse
    trail = _query(published, "SELECT decided_by, reason FROM reconciliation.review_decisions WHERE invoice_id = ? "
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
    # the decisions were labels for the retrained scorer
    versions = {o["model_version"] for o in after.values() if o["model_version"]}
    assert versions and versions.isdisjoint({o["model_version"] for o in before.values()})
