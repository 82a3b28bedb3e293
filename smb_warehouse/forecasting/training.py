"""Train a candidate and gate it: on the same rolling-origin folds, against every baseline and the champion.

The gate compares like with like: the champion's spec (read back from its MLflow run) is re-fitted on
TODAY's rolling-origin folds, and the baselines (seasonal naive, 28-day moving average, zero;
``smb_warehouse.forecasting.baselines``) are evaluated on exactly the candidate's backtest rows. A candidate
passes only when its backtest WAPE beats EVERY baseline by ``Guards.baseline_margin`` and is not worse than the
champion's by more than ``Guards.champion_margin`` allows (default 0: ties pass, so the same spec retrained on
newer data is a refresh). A failed gate never stops a run: the candidate is registered with gate_status
``refused`` and the rollout keeps the champion (or the best baseline) serving.
Identical data and spec as the champion -> nothing new is registered (re-runs are idempotent).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from smb_warehouse.core import registry
from smb_warehouse.forecasting import backtest, baselines
from smb_warehouse.forecasting.config import EXPERIMENT, MODEL_NAME, ForecastSpec, Guards, TrainingConfig
from smb_warehouse.forecasting.dataset import fingerprint, prepare


@dataclass
class GateDecision:
    """The gate's verdict. WAPEs on the same backtest rows; ``baseline_wapes`` per baseline name."""

    passed: bool
    reason: str
    candidate_wape: float
    baseline_wapes: dict[str, float]
    champion_wape: float | None
    champion_version: str | None

    @property
    def best_baseline(self) -> str:
        return baselines.best(self.baseline_wapes)

    @property
    def baseline_wape(self) -> float:
        """The best baseline's WAPE (NaN when none is finite)."""
        return self.baseline_wapes.get(self.best_baseline, float("nan"))


@dataclass
class Candidate:
    version: str
    run_id: str
    fingerprint: str
    spec: ForecastSpec
    metrics: dict[str, float]
    decision: GateDecision
    reused_champion: bool = False
    folds: list[dict] = field(default_factory=list)


def decide(candidate_wape: float, baseline_wapes: dict[str, float], champion_wape: float | None,
           champion_version: str | None, guards: Guards | None = None) -> GateDecision:
    """Pass iff candidate WAPE <= (1 - baseline_margin) x every baseline's WAPE and (no champion or)
    <= (1 - champion_margin) x the champion's. A NaN WAPE (no actuals) fails. The reason names every
    comparison that failed, with its figures."""
    g = guards or Guards()
    failures = []
    if not math.isfinite(candidate_wape):
        failures.append("candidate WAPE is undefined (no actuals in the backtest)")
    for name, wape in baseline_wapes.items():
        limit = (1 - g.baseline_margin) * wape
        if not math.isfinite(wape):
            failures.append(f"baseline {name} WAPE undefined")
        elif math.isfinite(candidate_wape) and candidate_wape > limit:
            failures.append(f"WAPE {candidate_wape:.4f} does not beat {name} {wape:.4f} by {g.baseline_margin:.0%} "
                            f"(needs <= {limit:.4f})")
    if champion_wape is not None:
        limit = (1 - g.champion_margin) * champion_wape
        if math.isfinite(candidate_wape) and candidate_wape > limit:
            failures.append(f"WAPE {candidate_wape:.4f} worse than champion v{champion_version} {champion_wape:.4f}"
                            + (f" by the margin {g.champion_margin:.0%}" if g.champion_margin else ""))
    if failures:
        reason = "; ".join(failures)
    else:
        best = baselines.best(baseline_wapes)
        reason = (f"WAPE {candidate_wape:.4f} beats every baseline by >= {g.baseline_margin:.0%} (best: {best} "
                  f"{baseline_wapes[best]:.4f})"
                  + (f" and <= champion v{champion_version} {champion_wape:.4f}" if champion_wape is not None
                     else " (no champion yet)"))
    return GateDecision(not failures, reason, candidate_wape, dict(baseline_wapes), champion_wape, champion_version)


def champion_spec(model_name: str = MODEL_NAME) -> tuple[object | None, ForecastSpec | None]:
    champ = registry.version_info(model_name)
    if champ is None or not champ.run_id:
        return None, None
    params, _ = registry.run_data(champ.run_id)
    return champ, ForecastSpec.from_json(params["spec"]) if "spec" in params else None


def train_candidate(features: pd.DataFrame, config: TrainingConfig, model_name: str = MODEL_NAME,
                    force: bool = False, guards: Guards | None = None) -> Candidate:
    """Backtest, gate, fit on everything and register a version of ``model_name`` (tag gate_status
    ``passed`` or ``refused``, with the reason). ``features``: the dbt feature table. Raises ValueError when
    the table has no actuals or is too short for the backtest folds."""
    spec, plan = config.spec, config.plan
    data = prepare(features)
    fp = fingerprint(features)
    champ, champ_spec = champion_spec(model_name)
    if champ is not None and not force and champ.tags.get("data_fingerprint") == fp and champ_spec == spec:
        _, metrics = registry.run_data(champ.run_id)
        base = {name: metrics.get(f"baseline_{name}_wape", float("nan")) for name in baselines.NAMES}
        decision = GateDecision(True, f"unchanged: data {fp} and spec equal champion v{champ.version}; nothing retrained",
                                metrics.get("backtest_wape", float("nan")), base,
                                metrics.get("backtest_wape"), str(champ.version))
        return Candidate(str(champ.version), champ.run_id, fp, spec, dict(metrics), decision, reused_champion=True)

    result = backtest.run(data, spec, plan)
    champion_wape = None
    if champ is not None and champ_spec is not None:
        champion_wape = result.metrics["wape"] if champ_spec == spec else backtest.run(data, champ_spec, plan).metrics["wape"]
    base = {name: result.metrics[f"baseline_{name}_wape"] for name in baselines.NAMES}
    decision = decide(result.metrics["wape"], base, champion_wape, str(champ.version) if champ is not None else None, guards)
    model = backtest.fit_final(data, spec, result)

    metrics = {f"backtest_{k}": v for k, v in result.metrics.items() if not k.startswith("baseline_")}
    metrics.update({k: v for k, v in result.metrics.items() if k.startswith("baseline_")})
    metrics["best_baseline_wape"] = decision.baseline_wape
    if champion_wape is not None:
        metrics["champion_wape_same_folds"] = champion_wape
    for fold in result.folds:
        metrics[f"fold{fold['fold']}_wape"] = fold["wape"]
    first_day = pd.Timestamp(features.loc[~features["is_future"], "demand_date"].min()).date().isoformat()
    window = (max(first_day, (data.last_actual_date - pd.Timedelta(days=spec.train_days)).date().isoformat()),
              data.last_actual_date.date().isoformat())
    folds = pd.DataFrame(result.folds)
    version, run_id = registry.log_and_register(registry.TrainingRun(
        model_name=model_name, experiment=EXPERIMENT, model=model,
        params={"spec": spec.to_json(), "n_folds": plan.n_folds, "horizon": spec.horizon,
                "train_days": spec.train_days, "max_iter": spec.max_iter, "learning_rate": spec.learning_rate,
                "interval_coverage": spec.interval_coverage, "data_fingerprint": fp,
                "training_window_start": window[0], "training_window_end": window[1]},
        metrics=metrics, data_fingerprint=fp, training_window=window, features=spec.feature_names,
        tags={"gate_decision": "pass" if decision.passed else "fail", "best_baseline": decision.best_baseline},
        tables={"backtest_folds": folds, "backtest_predictions": result.predictions}))
    registry.set_gate_status(model_name, version, "passed" if decision.passed else "refused", decision.reason)
    return Candidate(version, run_id, fp, spec, metrics, decision, folds=result.folds)
