"""Record a fitted scikit-learn model as a new version of an MLflow registered model (smb_warehouse/core/tracking.py's store).

Model files live only in MLflow's artifact store. Returns the version string written next to every
prediction, so a score in the warehouse always names the model that produced it.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from smb_warehouse.core import tracking


def log_model_version(experiment: str, model_name: str, model: Any, params: Mapping[str, Any],
                      metrics: Mapping[str, float], tags: Mapping[str, str] | None = None,
                      trusted_types: list[str] | None = None) -> str:
    import mlflow
    import mlflow.sklearn

    experiment_id = tracking.ensure_experiment(experiment)
    with mlflow.start_run(experiment_id=experiment_id, run_name=model_name) as run:
        mlflow.log_params({k: str(v) for k, v in params.items()})
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
        mlflow.set_tags(dict(tags or {}))
        # explicit requirements: skip MLflow's slow environment inference (it imports the model's packages)
        info = mlflow.sklearn.log_model(model, name="model", registered_model_name=model_name,
                                        pip_requirements=["scikit-learn"],
                                        # types we fitted ourselves and MLflow's safe loader must accept (tree nodes)
                                        **({"skops_trusted_types": trusted_types} if trusted_types else {}))
    version = getattr(info, "registered_model_version", None)
    return f"{model_name}/{version}" if version is not None else f"{model_name}@run:{run.info.run_id}"
