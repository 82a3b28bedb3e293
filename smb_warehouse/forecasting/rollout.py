"""Staged rollout of the demand forecaster, its circuit breaker and fallback: what serves, decided once per run.

Roles are MLflow registry aliases of ``demand_forecaster``: ``champion`` serves, ``challenger`` runs in shadow
(scored beside the champion on the same origins, logged to ml.demand_forecast_shadow_log, never served).
Every threshold is in ``config.Guards``. One call of ``decide_and_apply`` per run, in this order:

1. Guards -> circuit breaker (``smb_warehouse.core.safe_mode``, workflow ``demand_forecasting``): an input
   contract problem (sales input files rejected, or quarantine share of their latest load above
   ``max_input_quarantine_share``), strong feature drift (a watched feature moved >= ``breaker_drift_score``
   std, ``monitoring.feature_drift``) or a live-KPI breach (the
   champion's live WAPE above the best baseline's on the same points by ``live_breach_margin``) opens it:
   safe mode ``champion_or_baseline``, no new challenger, no promotion. A run with no finding closes a
   breaker a run opened; a person's stays until a person closes it.
2. Rollback: by a person (``manual_rollback``), or automatic when a PROMOTED champion's live WAPE exceeds the
   previous version's live WAPE while it served by ``rollback_degradation`` (a version restored by a rollback
   is not rolled back again: the breaker and the baseline handle further degradation).
3. This run's candidate: refused by the gate -> logged and alerted, the champion keeps serving; passed ->
   with no champion it becomes the first champion (nothing live to shadow against); otherwise it becomes the
   challenger, unless the breaker is open or another challenger is still in shadow (held).
4. The challenger: promoted once it has ``shadow_days`` matured shadow days and ``min_live_points`` points
   and its live WAPE <= champion's x (1 + ``promotion_tolerance``) on the same points (and, when
   ``require_approver``, a person approved that version: ``approve``); rejected when worse.
5. Serving: the champion; the best baseline (``baseline:<name>``) when there is no champion or the breaker
   is open because the champion's live KPI breached.

Every decision is an event in an append-only SQLite store ($SMB_DATA_DIR/forecasting/rollout.sqlite, triggers
refuse UPDATE/DELETE, as review decisions are kept: a person approves while runs write), copied whole into
ml.model_rollout_log by every run; failures and switches are alerted through ``core.notify``.
"""
from __future__ import annotations

import math
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from smb_warehouse.core import dbt_manifest, notify, paths, registry, reports, safe_mode
from smb_warehouse.core.sql import append_only_triggers
from smb_warehouse.forecasting import baselines, live, monitoring, tables
from smb_warehouse.forecasting.config import MODEL_NAME, SAFE_MODE, WORKFLOW, BacktestPlan, ForecastSpec, Guards

CHALLENGER = "challenger"
PERSON, RUN = "person", "run"
EVENTS = ("gate_passed", "gate_refused", "challenger_started", "challenger_held", "promotion_deferred",
          "awaiting_approval", "approved", "promoted", "challenger_rejected", "rolled_back", "baseline_serving")
COLUMNS = ["event_id", "seq", "model_name", "model_version", "event", "reason", "decided_by", "decided_by_kind",
           "decided_at", "dagster_run_id", "other_version", "live_wape", "compared_wape"]
SALES_INPUTS = ("sales_orders", "sales_order_lines")   # ERP entities the demand features are built from
LOAD_AUDIT_MODEL = "stg_ingestion__load_audit"          # dbt model the input-contract guard reads
NOTHING = "none"   # serving_version when not even a baseline can forecast (no actuals, history too short)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    model_name TEXT NOT NULL,
    model_version TEXT NOT NULL,
    event TEXT NOT NULL,
    reason TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    decided_by TEXT NOT NULL CHECK (length(trim(decided_by)) > 0),
    decided_by_kind TEXT NOT NULL CHECK (decided_by_kind IN ('person', 'run')),
    decided_at TEXT NOT NULL,
    dagster_run_id TEXT,
    other_version TEXT,
    live_wape REAL,
    compared_wape REAL
);
""" + append_only_triggers("events", "rollout events are append-only: record a new event instead")


def store_path() -> Path:
    return paths.data_dir() / "forecasting" / "rollout.sqlite"


@contextmanager
def _connect() -> Iterator[sqlite3.Connection]:
    path = store_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(str(path), timeout=30)) as con:
        con.executescript(_SCHEMA)
        yield con


def record(event: str, version: str, reason: str, by: str = "pipeline", by_kind: str = RUN, run_id: str | None = None,
           other_version: str | None = None, live_wape: float | None = None, compared_wape: float | None = None,
           model_name: str = MODEL_NAME) -> dict:
    """Append one event; returns it as a dict (COLUMNS but seq). Raises ValueError for an unknown event or an
    empty who/why."""
    if event not in EVENTS:
        raise ValueError(f"unknown rollout event {event!r}; events: {', '.join(EVENTS)}")
    if not (by or "").strip() or not (reason or "").strip():
        raise ValueError("a rollout event needs who (by) and why (reason)")
    row = {"event_id": str(uuid.uuid4()), "model_name": model_name, "model_version": str(version), "event": event,
           "reason": reason.strip(), "decided_by": by.strip(), "decided_by_kind": by_kind,
           "decided_at": datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="microseconds"),
           "dagster_run_id": run_id, "other_version": other_version,
           "live_wape": _finite(live_wape), "compared_wape": _finite(compared_wape)}
    with _connect() as con, con:
        con.execute(f"INSERT INTO events ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
    return row


def _finite(value: float | None) -> float | None:
    return float(value) if value is not None and value == value else None


def events(model_name: str = MODEL_NAME) -> pd.DataFrame:
    """Every event of ``model_name`` in the order recorded (COLUMNS; decided_at as datetime64)."""
    if not store_path().exists():
        return pd.DataFrame(columns=COLUMNS)
    with _connect() as con:
        frame = pd.read_sql_query(f"SELECT {', '.join(COLUMNS)} FROM events WHERE model_name = ? ORDER BY seq", con,
                                  params=[model_name])
    frame["decided_at"] = pd.to_datetime(frame["decided_at"])
    return frame


def approve(version: str, by: str, why: str, model_name: str = MODEL_NAME) -> dict:
    """A person approves promoting ``version`` (needed when ``Guards.require_approver``). Raises ValueError
    when the version is not registered."""
    if registry.version_info(model_name, str(version)) is None:
        raise ValueError(f"{model_name} has no version {version}")
    return record("approved", str(version), why, by=by, by_kind=PERSON, model_name=model_name)


def approval(version: str, model_name: str = MODEL_NAME) -> dict | None:
    """The latest approval of ``version`` (a row of ``events``), or None."""
    found = events(model_name)
    found = found[(found["event"] == "approved") & (found["model_version"] == str(version))]
    return None if found.empty else found.iloc[-1].to_dict()


def write_log(con: duckdb.DuckDBPyConnection, model_name: str = MODEL_NAME) -> int:
    """Replace ml.model_rollout_log with every event of the store; returns the number of rows."""
    from smb_warehouse.core.warehouse import Replace, write_tables

    frame = events(model_name)
    write_tables(con, [Replace(tables.ROLLOUT_LOG, frame)])
    return len(frame)


def input_contract_problems(con: duckdb.DuckDBPyConnection, guards: Guards) -> list[str]:
    """Problems of the sales inputs in their latest load: rejected files, or a quarantined share of read rows
    above ``guards.max_input_quarantine_share`` (from the dbt model stg_ingestion__load_audit)."""
    audit = dbt_manifest.relation(LOAD_AUDIT_MODEL)
    rows = con.execute(f"""
WITH latest AS (
    SELECT source_entity, max(started_at) AS at FROM {audit}
    WHERE source_system = 'erp' AND source_entity IN ({', '.join('?' * len(SALES_INPUTS))})
      AND load_status IN ('loaded', 'rejected', 'empty')
    GROUP BY source_entity
), load_ids AS (
    SELECT DISTINCT a.source_entity, a.load_id FROM {audit} AS a
    JOIN latest ON latest.source_entity = a.source_entity AND latest.at = a.started_at
)
SELECT a.source_entity, sum(coalesce(a.rows_read, 0)), sum(coalesce(a.rows_quarantined, 0)),
       count(*) FILTER (WHERE a.load_status = 'rejected'), count(*)
FROM {audit} AS a JOIN load_ids USING (source_entity, load_id)
WHERE a.load_status IN ('loaded', 'rejected', 'empty')
GROUP BY a.source_entity ORDER BY a.source_entity
""", list(SALES_INPUTS)).fetchall()
    problems = []
    for entity, read, quarantined, rejected, files in rows:
        if rejected:
            problems.append(f"input contract: {rejected} of {files} erp/{entity} file(s) of the latest load rejected")
        share = quarantined / read if read else 0.0
        if share > guards.max_input_quarantine_share:
            problems.append(f"input contract: {share:.1%} of erp/{entity} rows quarantined in the latest load "
                            f"(> {guards.max_input_quarantine_share:.1%})")
    return problems


@dataclass
class Outcome:
    """What the run decided. ``serving_version`` is a registry version or ``baseline:<name>``."""

    serving_version: str
    champion: str | None
    challenger: str | None
    breaker: safe_mode.BreakerState
    findings: list[str]
    events: list[dict] = field(default_factory=list)
    gate_passed: bool | None = None
    champion_live: live.LiveKPI | None = None
    rolled_back: tuple[str, str] | None = None

    @property
    def serving_baseline(self) -> bool:
        return baselines.is_baseline(self.serving_version) or self.serving_version == NOTHING

    @property
    def serving(self) -> str:
        if self.serving_version == NOTHING:
            return "nothing (no forecast)"
        return self.serving_version if baselines.is_baseline(self.serving_version) else f"{MODEL_NAME} v{self.serving_version}"

    @property
    def degraded(self) -> bool:
        """A fallback serves: a baseline, the breaker's safe mode, or the champion kept after a refused candidate."""
        return self.serving_baseline or self.breaker.is_open or self.gate_passed is False

    def detail(self) -> str:
        parts = [f"serving {self.serving}"]
        if self.breaker.is_open:
            parts.append(f"safe mode {self.breaker.mode}: {self.breaker.reason}")
        parts += [f"{e['event']} v{e['model_version']}: {e['reason']}" for e in self.events]
        return "; ".join(parts)[:4000]


@dataclass
class CandidateInfo:
    """This run's candidate as the training asset reported it."""

    version: str
    passed: bool
    reused_champion: bool
    reason: str
    wape: float | None = None
    best_baseline_wape: float | None = None


class _Run:
    def __init__(self, con, guards: Guards, run_id: str, model_name: str):
        self.con, self.guards, self.run_id, self.model_name = con, guards, run_id, model_name
        self.events: list[dict] = []
        self.alerts: list[dict] = []

    def event(self, event: str, version: str, reason: str, by: str = "pipeline", by_kind: str = RUN, **kw) -> dict:
        row = record(event, version, reason, by=by, by_kind=by_kind, run_id=self.run_id, model_name=self.model_name, **kw)
        self.events.append(row)
        return row

    def alert(self, subject: str, **detail) -> None:
        self.alerts.append({"subject": subject, "workflow": WORKFLOW, "dagster_run_id": self.run_id, **detail})


def _alias(model_name: str, alias: str) -> str | None:
    info = registry.version_info(model_name, alias=alias)
    return str(info.version) if info is not None else None


def decide_and_apply(con: duckdb.DuckDBPyConnection, features: pd.DataFrame, run_id: str,
                     candidate: CandidateInfo | None = None, guards: Guards | None = None,
                     manual_rollback_by: str | None = None, model_name: str = MODEL_NAME,
                     report_tag: str | None = None) -> Outcome:
    """Steps 1-5 of the module docstring against the registry, the safe-mode store and this run's candidate
    warehouse ``con`` (features, forecast logs, load audit). ``features``: the dbt feature table.
    ``manual_rollback_by``: a person asked for a rollback (raises ``registry.NothingToRollBack`` when there is
    nothing to roll back to). Records events, moves aliases, sends one alert digest; returns the Outcome."""
    g = guards or Guards.from_env()
    run = _Run(con, g, run_id, model_name)

    # 1. guards -> breaker
    findings = input_contract_problems(con, g)
    if math.isfinite(g.breaker_drift_score):
        drift = monitoring.feature_drift(features, report_tag or reports.run_tag(run_id))
        scores = drift.rows[drift.rows["column_name"] != "__dataset__"].set_index("column_name")["drift_score"].dropna()
        if len(scores) and scores.max() >= g.breaker_drift_score:
            findings.append(f"feature drift: {scores.idxmax()} moved {scores.max():.2f} std (>= {g.breaker_drift_score}; "
                            f"{drift.drifted_share:.0%} of watched features drifted)")
    champion = _alias(model_name, registry.CHAMPION)
    champion_live = live.serving_kpi(con, model_name, champion, g.live_window_days) if champion else None
    champion_breached = False
    if champion_live is not None and champion_live.enough(g.min_live_points) and champion_live.baseline_wapes:
        best = champion_live.best_baseline
        limit = champion_live.baseline_wapes[best] * (1 + g.live_breach_margin)
        if champion_live.wape > limit:
            champion_breached = True
            findings.append(f"live KPI: champion {champion_live.describe()} worse than baseline {best} "
                            f"{champion_live.baseline_wapes[best]:.4f} on the same points by more than "
                            f"{g.live_breach_margin:.0%}")
    if findings:
        switch = safe_mode.open_breaker(WORKFLOW, SAFE_MODE, "; ".join(findings), by="pipeline", run_id=run_id)
    else:
        switch = safe_mode.close_breaker(WORKFLOW, "healthy run: input contract, drift and live KPI within thresholds",
                                         by="pipeline", run_id=run_id)
    breaker = switch.state

    # 2. rollback
    rolled = None
    if manual_rollback_by:
        current, previous = registry.rollback_target(model_name)
        registry.rollback(model_name)
        rolled = (current, previous)
        run.event("rolled_back", current, "rollback requested by a person", by=manual_rollback_by, by_kind=PERSON,
                  other_version=previous)
    elif champion and champion_live is not None and champion_live.enough(g.min_live_points):
        info = registry.version_info(model_name, champion)
        previous = info.tags.get("previous_champion") if info is not None else None
        restored = info.tags.get("restored_by_rollback_from") if info is not None else None
        if previous and not restored:
            before = live.serving_kpi(con, model_name, previous, g.live_window_days)
            if before.enough(g.min_live_points) and champion_live.wape > before.wape * (1 + g.rollback_degradation):
                registry.rollback(model_name)
                rolled = (champion, previous)
                reason = (f"live KPI degraded: {champion_live.describe()} > previous {before.describe()} "
                          f"x {1 + g.rollback_degradation:.2f}")
                run.event("rolled_back", champion, reason, other_version=previous, live_wape=champion_live.wape,
                          compared_wape=before.wape)
                run.alert(f"{model_name}: champion v{champion} rolled back to v{previous}", reason=reason)
    if rolled:
        champion = rolled[1]
        champion_live = live.serving_kpi(con, model_name, champion, g.live_window_days)
        champion_breached = False  # the restored version gets its own verdict from the next run's guards
        challenger = _alias(model_name, CHALLENGER)
        if challenger == rolled[1]:
            registry.remove_alias(model_name, CHALLENGER)

    # 3. this run's candidate
    challenger = _alias(model_name, CHALLENGER)
    started_now = None
    gate_passed = None
    if candidate is not None and not manual_rollback_by:
        gate_passed = candidate.passed
        if not candidate.passed:
            fallback = f"champion v{champion} keeps serving" if champion else "the best baseline serves (no champion)"
            run.event("gate_refused", candidate.version, candidate.reason, live_wape=None,
                      compared_wape=candidate.best_baseline_wape)
            run.alert(f"{model_name}: candidate v{candidate.version} refused by the gate; {fallback}", reason=candidate.reason)
        elif candidate.reused_champion:
            pass
        elif breaker.is_open:
            run.event("challenger_held", candidate.version, f"safe mode {breaker.mode}: {breaker.reason}")
        elif champion is None:
            if g.require_approver and approval(candidate.version, model_name) is None:
                run.event("awaiting_approval", candidate.version,
                          "first champion: promotion needs a recorded approval (require_approver)")
            else:
                registry.promote(model_name, candidate.version)
                champion = candidate.version
                who = approval(candidate.version, model_name) if g.require_approver else None
                run.event("promoted", candidate.version, "first champion: passed the gate; no live champion to shadow against"
                          + (f"; approved by {who['decided_by']}: {who['reason']}" if who else ""),
                          by=who["decided_by"] if who else "pipeline", by_kind=PERSON if who else RUN,
                          compared_wape=candidate.best_baseline_wape, live_wape=None)
                champion_live = live.serving_kpi(con, model_name, champion, g.live_window_days)
        elif challenger and challenger != candidate.version:
            run.event("challenger_held", candidate.version, f"challenger v{challenger} is still in shadow")
        elif challenger != candidate.version and candidate.version != champion:
            registry.set_alias(model_name, CHALLENGER, candidate.version)
            registry.tag_version(model_name, candidate.version, gate_status="challenger",
                                 shadow_started_at=datetime.now(UTC).isoformat())
            run.event("challenger_started", candidate.version,
                      f"passed the gate ({candidate.reason}); runs in shadow beside champion v{champion} for "
                      f">= {g.shadow_days} matured days", other_version=champion)
            challenger = started_now = candidate.version

    # 4. the challenger in shadow
    challenger = _alias(model_name, CHALLENGER)
    if challenger and champion and challenger != started_now and not manual_rollback_by:
        ch, cp = live.shadow_kpi(con, model_name, challenger, champion)
        if breaker.is_open:
            run.event("promotion_deferred", challenger, f"safe mode {breaker.mode}: no promotion", other_version=champion,
                      live_wape=ch.wape, compared_wape=cp.wape)
        elif ch.days < g.shadow_days or not ch.enough(g.min_live_points):
            run.event("promotion_deferred", challenger, f"in shadow: {ch.days} of {g.shadow_days} matured days, "
                      f"{ch.points} points (min {g.min_live_points})", other_version=champion,
                      live_wape=ch.wape, compared_wape=cp.wape)
        elif ch.wape <= cp.wape * (1 + g.promotion_tolerance):
            who = approval(challenger, model_name) if g.require_approver else None
            if g.require_approver and who is None:
                run.event("awaiting_approval", challenger, f"shadow WAPE {ch.wape:.4f} <= champion v{champion} "
                          f"{cp.wape:.4f} on the same {ch.points} points; promotion needs a recorded approval",
                          other_version=champion, live_wape=ch.wape, compared_wape=cp.wape)
            else:
                registry.promote(model_name, challenger)
                registry.remove_alias(model_name, CHALLENGER)
                reason = (f"shadow WAPE {ch.wape:.4f} <= champion v{champion} {cp.wape:.4f} x "
                          f"{1 + g.promotion_tolerance:.2f} on the same {ch.points} points / {ch.days} days"
                          + (f"; approved by {who['decided_by']}: {who['reason']}" if who else ""))
                run.event("promoted", challenger, reason, by=who["decided_by"] if who else "pipeline",
                          by_kind=PERSON if who else RUN, other_version=champion, live_wape=ch.wape, compared_wape=cp.wape)
                run.alert(f"{model_name}: challenger v{challenger} promoted to champion (was v{champion})", reason=reason)
                champion = challenger
                champion_live = live.serving_kpi(con, model_name, champion, g.live_window_days)
        else:
            registry.remove_alias(model_name, CHALLENGER)
            registry.tag_version(model_name, challenger, gate_status="rejected_in_shadow")
            run.event("challenger_rejected", challenger, f"shadow WAPE {ch.wape:.4f} > champion v{champion} {cp.wape:.4f} "
                      f"x {1 + g.promotion_tolerance:.2f} on the same {ch.points} points", other_version=champion,
                      live_wape=ch.wape, compared_wape=cp.wape)

    # 5. what serves
    if champion is None or (breaker.is_open and champion_breached):
        why = ("no champion yet" if champion is None else
               f"safe mode: champion v{champion}'s live KPI breached ({champion_live.describe()})")
        try:
            fit = best_baseline(features, model_name)
        except ValueError as exc:  # not even a baseline can forecast: say so, publish no forecast rows
            serving = NOTHING
            run.event("baseline_serving", NOTHING, f"{why}; no baseline either: {exc}")
            run.alert(f"{model_name}: no forecast published", reason=f"{why}; {exc}")
        else:
            serving = fit.version
            scores = ", ".join(f"{k} {v:.4f}" for k, v in fit.wapes.items())
            run.event("baseline_serving", serving, f"{why}; the best baseline on the backtest folds serves ({scores})",
                      live_wape=None, compared_wape=fit.wapes[fit.name])
            run.alert(f"{model_name}: {serving} serves the forecast", reason=why)
    else:
        serving = champion
    if run.alerts:
        notify.Notifier.from_env().send(f"{WORKFLOW}: forecast rollout", run.alerts)
    return Outcome(serving, champion, _alias(model_name, CHALLENGER), breaker, findings, run.events, gate_passed,
                   champion_live, rolled)


def fallback_spec(model_name: str = MODEL_NAME) -> ForecastSpec:
    """The spec a baseline fallback is scored and evaluated with: the champion's (its horizon), else the default."""
    from smb_warehouse.forecasting.training import champion_spec

    _, spec = champion_spec(model_name)
    return spec or ForecastSpec()


def best_baseline(features: pd.DataFrame, model_name: str = MODEL_NAME, name: str | None = None) -> baselines.BaselineFit:
    """The baseline that serves when no model may: the best on the default backtest folds (or ``name``)."""
    from smb_warehouse.forecasting.dataset import prepare

    return baselines.evaluate(prepare(features), fallback_spec(model_name), BacktestPlan(), name)
