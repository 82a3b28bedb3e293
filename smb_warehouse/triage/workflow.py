"""One support-triage run, without Dagster: fit the candidate classifiers, judge them (model.judge) against the
majority baselines and the champion on held-out desk labels, choose what serves (candidate, else champion, else
the all-to-a-person baseline), apply the triage circuit breaker, and write the predictions, KB suggestions and the
run's state.

The triage circuit breaker (smb_warehouse.core.safe_mode, workflow ``support_triage``, safe mode
``all_to_person``: no ticket is auto-routed) opens when a guard breaches (TriageConfig):
    input contract  support/tickets' latest load: a rejected file, or a quarantined share above
                    max_quarantine_share (dbt model stg_ingestion__load_audit)
    drift           |share of tickets auto-triaged by what serves now - that share when the champion was trained|
                    above max_drift
    live KPI        accuracy of the auto-triaged held-out tickets against the desk's category below
                    min_auto_accuracy, judged from min_auto_tickets tickets
and closes when a person closes it, or a run whose guards are all healthy (a breaker a person opened stays open).
A refused candidate or an open breaker never stops the run; both are marked in every row (model version columns
of triage.ticket_predictions, triage.triage_state, fct_ticket_triage) and recorded in ml.workflow_run_outcomes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb
import pandas as pd

from smb_warehouse.core import dbt_manifest, notify, registry, safe_mode
from smb_warehouse.triage import tables
from smb_warehouse.triage.model import (
    HUMAN_REVIEW,
    TriageConfig,
    TriageGate,
    fit_models,
    judge,
    majority_category,
    predict,
    retrieve_kb,
)

WORKFLOW = "support_triage"
SAFE_MODE = "all_to_person"
CATEGORY_MODEL = "ticket_category_classifier"
PRIORITY_MODEL = "ticket_priority_classifier"
EXPERIMENT = "support_triage"
BASELINE = "baseline:all_to_person"


@dataclass
class TriageRun:
    predictions: pd.DataFrame
    suggestions: pd.DataFrame
    state: pd.DataFrame
    gate: TriageGate
    serving: str
    is_fallback: bool
    breaker: safe_mode.BreakerState
    metrics: dict[str, float]                  # held-out metrics of what serves
    candidate_metrics: dict[str, float]
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _register(name: str, model, config: TriageConfig, metrics: dict) -> str:
    """A new registered version (the number); its gate verdict is tagged after judging."""
    from smb_warehouse.core.model_versions import log_model_version

    # the min_df the fit used: model._fit falls back to 1 for a desk too small for config.min_term_tickets
    params = {**config.__dict__, "tfidf_min_df": model.named_steps["tfidf"].min_df}
    return log_model_version(EXPERIMENT, name, model, params=params, metrics=metrics).split("/", 1)[1]


def _load(name: str, version: str):
    from smb_warehouse.core import tracking

    tracking.configure()
    import mlflow.sklearn

    return mlflow.sklearn.load_model(f"models:/{name}/{version}")


def input_contract(con: duckdb.DuckDBPyConnection, config: TriageConfig) -> tuple[list[str], list[str]]:
    """(problems, notes) of support/tickets' latest load."""
    audit = dbt_manifest.relation(tables.AUDIT_MODEL)
    schema, name = audit.split(".", 1)
    if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                       [schema, name]).fetchone()[0]:
        return [], [f"input contract: {audit} not built"]
    row = con.execute(f"""
WITH tickets AS (
    SELECT * FROM {audit} WHERE source_system = 'support' AND source_entity = 'tickets'
      AND load_status IN ('loaded', 'rejected', 'empty')
), latest AS (SELECT DISTINCT load_id FROM tickets WHERE started_at = (SELECT max(started_at) FROM tickets))
SELECT sum(coalesce(rows_read, 0)), sum(coalesce(rows_quarantined, 0)),
       sum(CASE WHEN load_status = 'rejected' THEN 1 ELSE 0 END), count(*)
FROM tickets WHERE load_id IN (SELECT load_id FROM latest)""").fetchone()
    read, quarantined, rejected, files = row
    if not files:
        return [], ["input contract: no load of support/tickets recorded"]
    problems = []
    share = float(quarantined) / float(read) if read else 0.0
    if rejected:
        problems.append(f"input contract: {rejected} of {files} support/tickets file(s) of the latest load rejected")
    if share > config.max_quarantine_share:
        problems.append(f"input contract: {share:.1%} of support/tickets rows quarantined in the latest load "
                        f"(> {config.max_quarantine_share:.1%})")
    return problems, []


def _champion_share_auto(champion) -> float | None:
    if champion is None or not champion.run_id:
        return None
    _, metrics = registry.run_data(champion.run_id)
    return metrics.get("share_auto_triaged")


def run(con: duckdb.DuckDBPyConnection, tickets: pd.DataFrame, articles: pd.DataFrame, run_id: str,
        config: TriageConfig | None = None) -> TriageRun:
    """Triage every ticket and write triage.{ticket_predictions, kb_suggestions, triage_state} into ``con``.
    Raises only for broken infrastructure (warehouse, MLflow store), never for a bad model."""
    config = config or TriageConfig()
    champions = {name: registry.version_info(name) for name in (CATEGORY_MODEL, PRIORITY_MODEL)}
    champion_share = _champion_share_auto(champions[CATEGORY_MODEL])

    cat_model, pri_model = fit_models(tickets, config)
    candidate_out, candidate_metrics = predict(tickets, cat_model, pri_model, config)
    has_models = cat_model is not None and pri_model is not None
    versions = {}
    if has_models:
        versions = {CATEGORY_MODEL: _register(CATEGORY_MODEL, cat_model, config, candidate_metrics),
                    PRIORITY_MODEL: _register(PRIORITY_MODEL, pri_model, config, candidate_metrics)}
    champion_ready = all(champions.values())
    champion_out, champion_metrics = None, None
    if champion_ready:
        champion_out, champion_metrics = predict(
            tickets, _load(CATEGORY_MODEL, str(champions[CATEGORY_MODEL].version)),
            _load(PRIORITY_MODEL, str(champions[PRIORITY_MODEL].version)), config)
    gate = judge(candidate_metrics, champion_metrics, has_models, config)
    for name, version in versions.items():
        registry.set_gate_status(name, version, "passed" if gate.passed else "refused", gate.reason)

    if gate.passed:
        for name, version in versions.items():
            if champions[name] is None or str(champions[name].version) != version:
                registry.promote(name, version)
        out, metrics, is_fallback = candidate_out, candidate_metrics, False
        model_versions = {name: f"{name}/{v}" for name, v in versions.items()}
    elif champion_ready:
        out, metrics, is_fallback = champion_out, champion_metrics, True
        model_versions = {name: f"{name}/{champions[name].version}" for name in champions}
    else:
        out, metrics = predict(tickets, None, None, config)
        out["predicted_category"] = majority_category(tickets, config)   # the baseline's guess, never acted on
        is_fallback = True
        model_versions = {CATEGORY_MODEL: BASELINE, PRIORITY_MODEL: BASELINE}
    serving = (BASELINE if model_versions[CATEGORY_MODEL] == BASELINE
               else f"{model_versions[CATEGORY_MODEL]} + {model_versions[PRIORITY_MODEL]}")

    problems, notes = input_contract(con, config)
    if champion_share is None:
        notes.append("drift: no champion to compare with")
    elif abs(metrics["share_auto_triaged"] - champion_share) > config.max_drift:
        problems.append(f"drift: {metrics['share_auto_triaged']:.1%} of tickets auto-triaged vs {champion_share:.1%} when the "
                        f"champion was trained (> {config.max_drift:.0%} apart)")
    if model_versions[CATEGORY_MODEL] == BASELINE:
        notes.append("live KPI: nothing auto-triaged (baseline)")
    elif metrics["holdout_auto_triaged"] < config.min_auto_tickets:
        notes.append(f"live KPI: only {int(metrics['holdout_auto_triaged'])} auto-triaged held-out tickets")
    elif metrics["holdout_auto_triaged_accuracy"] < config.min_auto_accuracy:
        problems.append(f"live KPI: auto-triaged held-out tickets {metrics['holdout_auto_triaged_accuracy']:.1%} in the "
                        f"desk's category (< {config.min_auto_accuracy:.0%})")
    summary = "; ".join(problems) if problems else (
        f"guards healthy: share auto-triaged {metrics['share_auto_triaged']:.3f}, auto-triaged held-out accuracy "
        f"{metrics['holdout_auto_triaged_accuracy']:.3f}" + (f" ({'; '.join(notes)})" if notes else ""))
    if problems:
        safe_mode.open_breaker(WORKFLOW, SAFE_MODE, summary, by="pipeline", run_id=run_id)
    else:
        safe_mode.close_breaker(WORKFLOW, summary, by="pipeline", run_id=run_id)
    breaker = safe_mode.state(WORKFLOW)

    out = out.copy()
    if breaker.is_open or model_versions[CATEGORY_MODEL] == BASELINE:  # every ticket to a person
        out["is_auto_triaged"] = False
        out["route"] = HUMAN_REVIEW
    now = _now()
    predictions = out.assign(category_model_version=model_versions[CATEGORY_MODEL],
                             priority_model_version=model_versions[PRIORITY_MODEL], predicted_at=now, run_id=run_id)
    suggestions = retrieve_kb(tickets.reset_index(drop=True), predictions["predicted_category"],
                              articles.reset_index(drop=True), config).assign(run_id=run_id)
    mode = breaker.mode if breaker.is_open else safe_mode.NORMAL_MODE
    candidate_versions = " + ".join(f"{n}/{v}" for n, v in versions.items()) or "untrained"
    state = pd.DataFrame([{
        "run_id": run_id, "recorded_at": now, "serving": serving, "is_fallback": is_fallback,
        "candidate_versions": candidate_versions, "gate_passed": gate.passed, "gate_reason": gate.reason,
        "breaker_state": breaker.state, "mode": mode, "breaker_reason": breaker.reason, "guard_summary": summary}])
    tables.write(con, predictions, suggestions, state)

    if not gate.passed:
        notify.Notifier.from_env().send(f"{WORKFLOW}: candidate classifiers refused by their gate, serving {serving}", [{
            "workflow": WORKFLOW, "candidate_versions": candidate_versions, "serving": serving, "reason": gate.reason,
            "dagster_run_id": run_id}])
    shown = serving + (f" (safe mode {mode}: every ticket to a person)" if breaker.is_open else "")
    safe_mode.record_run(WORKFLOW, run_id, serving=shown, degraded=is_fallback or breaker.is_open, gate_passed=gate.passed,
                         detail=f"candidate {candidate_versions}: {gate.reason}"[:1000])
    return TriageRun(predictions, suggestions, state, gate, serving, is_fallback, breaker, metrics, candidate_metrics,
                     problems, notes)
