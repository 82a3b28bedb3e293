"""One AP reconciliation scoring run, without Dagster: guards -> circuit breaker -> scorer (train or reuse, gate,
serving choice) -> scores and the run's state written into the candidate warehouse -> the outcome recorded in the
safe-mode store, an alert when the candidate was refused.

Nothing here stops the run because of a model: a refused candidate falls back to the champion or to rules only,
an open breaker switches the outcome model to review-everything; both are written into every output row
(reconciliation.candidate_scores.serving / is_fallback, reconciliation.scoring_state, and from there
fct_ap_invoice_outcomes) and recorded in ml.workflow_run_outcomes (kpi_ml__workflow_health).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb
import pandas as pd

from smb_warehouse.core import notify, registry, safe_mode
from smb_warehouse.reconciliation import guards, scorer, tables
from smb_warehouse.reconciliation.config import SAFE_MODE, WORKFLOW, GateConfig, GuardConfig, MatchRules


@dataclass
class RunResult:
    """What a run decided and wrote. ``timings`` in seconds: guards, serving (train or reuse + gate), scoring."""

    serving: scorer.Serving
    guards: guards.GuardReport
    breaker: safe_mode.BreakerState
    scores: pd.DataFrame
    state: pd.DataFrame
    n_pairs: int
    n_invoices: int
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def safe_mode(self) -> bool:
        return self.breaker.is_open


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def run(con: duckdb.DuckDBPyConnection, decisions: pd.DataFrame, run_id: str, rules: MatchRules | None = None,
        gate_config: GateConfig | None = None, guard_config: GuardConfig | None = None, seed: int = 0) -> RunResult:
    """Score every candidate pair of the run's warehouse ``con`` and write reconciliation.{candidate_scores,
    review_decisions, scoring_state}. ``decisions``: the review store's frame (decisions.load()).

    Raises only for broken infrastructure (warehouse, MLflow store, declarations), never for a bad model."""
    rules = rules or MatchRules.from_dbt_project()
    gate_config = gate_config or GateConfig()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    candidates = tables.read_candidates(con)
    champion = registry.version_info(scorer.MODEL_NAME)        # as served before this run changes anything
    report = guards.check(con, decisions, scorer.profile(candidates), dict(champion.tags) if champion else None,
                          guard_config)
    if report.problems:
        safe_mode.open_breaker(WORKFLOW, SAFE_MODE, report.summary(), by="pipeline", run_id=run_id)
    else:
        safe_mode.close_breaker(WORKFLOW, report.summary(), by="pipeline", run_id=run_id)  # only what a run opened
    breaker = safe_mode.state(WORKFLOW)
    timings["guards"] = time.perf_counter() - started

    started = time.perf_counter()
    serving = scorer.choose_serving(candidates, decisions, run_label=run_id[:8], rules=rules, gate_config=gate_config,
                                    seed=seed)
    timings["serving"] = time.perf_counter() - started
    started = time.perf_counter()
    now = _now()
    scores = candidates[["invoice_id", "po_number"]].assign(
        match_score=serving.score(candidates), model_name=scorer.MODEL_NAME, model_version=serving.model_version,
        serving=serving.label, is_fallback=serving.is_fallback, scored_at=now, recon_run_id=run_id)
    timings["scoring"] = time.perf_counter() - started

    gate = serving.gate
    mode = breaker.mode if breaker.is_open else safe_mode.NORMAL_MODE
    state = pd.DataFrame([{
        "recon_run_id": run_id, "scored_at": now, "serving": serving.label, "model_version": serving.model_version,
        "is_fallback": serving.is_fallback, "candidate_version": serving.candidate.version,
        "candidate_reused": serving.candidate.reused, "gate_passed": gate.passed, "gate_reason": gate.reason,
        "candidate_utility": gate.candidate.utility if gate.candidate else None,
        "baseline_utility": gate.baseline.utility if gate.baseline else None,
        "champion_utility": gate.champion.utility if gate.champion else None,
        "breaker_state": breaker.state, "mode": mode, "breaker_reason": breaker.reason,
        "guard_summary": report.summary()}])
    tables.write(con, {"candidate_scores": scores, "review_decisions": decisions, "scoring_state": state})

    if not gate.passed:
        notify.Notifier.from_env().send(f"{WORKFLOW}: scorer candidate refused by its gate, serving {serving.label}", [{
            "workflow": WORKFLOW, "candidate_version": serving.candidate.version, "serving": serving.label,
            "reason": gate.reason, "dagster_run_id": run_id}])
    shown = serving.label + (f" (safe mode {mode}: no auto-match)" if breaker.is_open else "")
    safe_mode.record_run(WORKFLOW, run_id, serving=shown, degraded=serving.is_fallback or breaker.is_open,
                         gate_passed=gate.passed, detail=serving.detail[:1000])
    return RunResult(serving, report, breaker, scores, state, len(candidates), int(candidates["invoice_id"].nunique()),
                     timings)
