"""Train a candidate, compare it with the champion and the baseline on the same backtest, register it.

The gate compares like with like: the champion's spec (read back from its MLflow run) is re-fitted on
TODAY's rolling-origin folds, so a candidate is never judged against numbers measured on other data.
A candidate passes when its backtest WAPE is below the seasonal-naive baseline's and not above the
champion's (ties pass: the same spec retrained on newer data ties by construction and is a refresh).
Identical data and spec as the champion -> nothing new is registered (re-runs are idempotent).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from smb_warehouse.core import registry
from smb_warehouse.forecasting import backtest
from smb_warehouse.forecasting.config import EXPERIMENT, MODEL_NAME, ForecastSpec, TrainingConfig
from smb_warehouse.forecasting.dataset import fingerprint, prepare


@dataclass
class GateDecision:
    passed: bool
    reason: str
    candidate_wape: float
    baseline_wape: float
    champion_wape: float | None
    champion_version: str | None


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


def decide(candidate_wape: float, baseline_wape: float, champion_wape: float | None,
           champion_version: str | None) -> GateDecision:
    beats_baseline = candidate_wape < baseline_wape
    beats_champion = champion_wape is None or candidate_wape <= champion_wape
    if beats_baseline and beats_champion:
        reason = (f"WAPE {candidate_wape:.4f} < baseline {baseline_wape:.4f}"
                  + (f" and <= champion v{champion_version} {champion_wape:.4f}" if champion_wape is not None else " (no champion yet)"))
    else:
        reason = "; ".join(msg for ok, msg in [
            (beats_baseline, f"WAPE {candidate_wape:.4f} not below seasonal-naive baseline {baseline_wape:.4f}"),
            (beats_champion, f"WAPE {candidate_wape:.4f} worse than champion v{champion_version} {champion_wape}"),
        ] if not ok)
    return GateDecision(beats_baseline and beats_champion, reason, candidate_wape, baseline_wape, champion_wape, champion_version)


def champion_spec(model_name: str = MODEL_NAME) -> tuple[object | None, ForecastSpec | None]:
    champ = registry.version_info(model_name)
    if champ is None or not champ.run_id:
        return None, None
    params, _ = registry.run_data(champ.run_id)
    return champ, ForecastSpec.from_json(params["spec"]) if "spec" in params else None


def train_candidate(features: pd.DataFrame, config: TrainingConfig, model_name: str = MODEL_NAME,
                    force: bool = False) -> Candidate:
    spec, plan = config.spec, config.plan
    data = prepare(features)
    fp = fingerprint(features)
    champ, champ_spec = champion_spec(model_name)
    if champ is not None and not force and champ.tags.get("data_fingerprint") == fp and champ_spec == spec:
        _, metrics = registry.run_data(champ.run_id)
        decision = GateDecision(True, f"unchanged: data {fp} and spec equal champion v{champ.version}; nothing retrained",
                                metrics.get("backtest_wape", float("nan")), metrics.get("baseline_wape", float("nan")),
                                metrics.get("backtest_wape"), str(champ.version))
        return Candidate(str(champ.version), champ.run_id, fp, spec, dict(metrics), decision, reused_champion=True)

    result = backtest.run(data, spec, plan)
    champion_wape = None
    if champ is not None and champ_spec is not None:
        champion_wape = result.metrics["wape"] if champ_spec == spec else backtest.run(data, champ_spec, plan).metrics["wape"]
    decision = decide(result.metrics["wape"], result.metrics["baseline_wape"], champion_wape,
                      str(champ.version) if champ is not None else None)
    model = backtest.fit_final(data, spec, result)

    metrics = {f"backtest_{k}": v for k, v in result.metrics.items() if not k.startswith("baseline_")}
    metrics.update({k: v for k, v in result.metrics.items() if k.startswith("baseline_")})
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
        tags={"gate_decision": "pass" if decision.passed else "fail"},
        tables={"backtest_folds": folds, "backtest_predictions": result.predictions}))
    if not decision.passed:
        registry.set_gate_status(model_name, version, "refused", decision.reason)
    return Candidate(version, run_id, fp, spec, metrics, decision, folds=result.folds)
