"""AP reconciliation end to end at tiny scale: the shared complete run's outcomes checked against the
generator's known answers, then the human-review round trip: decisions made through the CLI (a subprocess) on
a copy of that run change the next run's outcomes and stay in the append-only audit trail."""
from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import DagsterInstance

from smb_warehouse.core.paths import PROJECT_ROOT
from tests.support import clone_run, environment, query, run_env, step_failures


def _review(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SMB_DATA_DIR": str(root)}
    return subprocess.run([sys.executable, "-m", "smb_warehouse.reconciliation.review", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def _answers(truth: Path) -> dict[str, dict]:
    with open(truth / "ap_invoice_matches.csv", newline="") as fh:
        return {r["invoice_id"]: r for r in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def recon(tiny_run: dict):
    """The shared complete run, read only (its MLflow store is where the scorer versions are)."""
    with environment(run_env(tiny_run["root"], tiny_run["landing"])):
        yield {"root": tiny_run["root"], "answers": _answers(tiny_run["truth"]), "published": tiny_run["published"]}


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


def test_review_decisions_change_the_next_run_and_stay_in_the_audit_trail(recon_clone):
    recon = recon_clone
    root, published = recon["root"], recon["published"]
    before = _outcomes(recon)
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

    result = recon["defs"].resolve_job_def("apply_review_decisions_job").execute_in_process(
        instance=DagsterInstance.ephemeral(), raise_on_error=False)
    assert result.success, step_failures(result)

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
    # the decisions were labels for the retrained scorer
    versions = {o["model_version"] for o in after.values() if o["model_version"]}
    assert versions and versions.isdisjoint({o["model_version"] for o in before.values()})
