"""The invoice_match_scorer: a gradient-boosted classifier over candidate (invoice, PO) pairs.

Score = probability that the pair is the right, safe-to-auto-match PO for the invoice. Trained on every run
from the bootstrap weak labels plus all human review decisions so far (smb_warehouse.reconciliation.features), logged to
MLflow and registered as `invoice_match_scorer`; the version that scored a run is written beside each score.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from importlib.metadata import version as _version

import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score

from smb_warehouse.reconciliation.features import FEATURES, matrix, training_set

MODEL_NAME = "invoice_match_scorer"
EXPERIMENT = "ap_reconciliation"
_TREE_PREDICTOR = "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"


@dataclass
class TrainedScorer:
    model: HistGradientBoostingClassifier | None
    version: str
    metrics: dict[str, float]

    def score(self, candidates: pd.DataFrame) -> np.ndarray:
        if candidates.empty:
            return np.zeros(0)
        if self.model is None:  # nothing to learn from (no rule matches, no decisions): never auto-match
            return np.zeros(len(candidates))
        return self.model.predict_proba(matrix(candidates))[:, 1]


def fit(candidates: pd.DataFrame, decisions: pd.DataFrame, seed: int = 0) -> tuple[HistGradientBoostingClassifier | None, dict[str, float]]:
    labelled = training_set(candidates, decisions, seed=seed)
    counts = {"train_pairs": float(len(labelled)), "train_positives": float(labelled["label"].sum()) if len(labelled) else 0.0,
              "human_labelled_pairs": float((labelled["variant"] == "human_decision").sum()) if len(labelled) else 0.0}
    if labelled.empty or labelled["label"].nunique() < 2:
        return None, counts
    x, y, w = matrix(labelled), labelled["label"].to_numpy(), labelled["weight"].to_numpy()
    # Monotone constraints encode what must hold whatever the weak labels say: closer amounts, quantities and
    # references never make a match less likely. They also keep the model from overfitting label noise.
    monotone = {"ref_exact": 1, "ref_edit_distance": -1, "same_supplier": 1, "abs_log_amount_ratio": -1,
                "abs_log_quantity_ratio": -1, "amount_rank": -1, "duplicate_signal": -1}
    model = HistGradientBoostingClassifier(
        max_iter=150, learning_rate=0.1, max_leaf_nodes=15, l2_regularization=1.0, random_state=seed,
        monotonic_cst=[monotone.get(f, 0) for f in FEATURES],
    )
    model.fit(x, y, sample_weight=w)
    counts["train_average_precision"] = float(average_precision_score(y, model.predict_proba(x)[:, 1], sample_weight=w))
    return model, counts


def train_and_register(candidates: pd.DataFrame, decisions: pd.DataFrame, run_label: str, seed: int = 0) -> TrainedScorer:
    """Fit, log to MLflow (params, metrics, model file) and register a new `invoice_match_scorer` version."""
    model, metrics = fit(candidates, decisions, seed=seed)
    if model is None:
        return TrainedScorer(None, "untrained", metrics)
    version = _register(model, metrics, run_label)
    return TrainedScorer(model, version, metrics)


def _register(model: HistGradientBoostingClassifier, metrics: dict[str, float], run_label: str) -> str:
    from smb_warehouse.core import tracking

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    experiment_id = tracking.ensure_experiment(EXPERIMENT)
    import mlflow
    import mlflow.sklearn

    with mlflow.start_run(experiment_id=experiment_id, run_name=f"{MODEL_NAME}-{run_label}"):
        mlflow.log_params({"features": ",".join(FEATURES), "estimator": "HistGradientBoostingClassifier",
                           "labels": "bootstrap rule matches + reference augmentations + human review decisions",
                           "pipeline_run": run_label})
        mlflow.log_metrics(metrics)
        info = mlflow.sklearn.log_model(
            model, name="model", registered_model_name=MODEL_NAME,
            # skops refuses HistGradientBoosting's tree nodes unless told the type is trusted: we wrote the file.
            skops_trusted_types=[_TREE_PREDICTOR],
            # explicit requirements: inferring them would reload the model in a subprocess (slow, nothing gained)
            pip_requirements=[f"scikit-learn=={sklearn.__version__}", f"skops=={_version('skops')}"],
        )
    return str(info.registered_model_version)
