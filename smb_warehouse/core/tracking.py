"""Where MLflow tracks runs and keeps model files: one place for every ML asset in the project.

Default: a local SQLite backend and artifact folder under $SMB_DATA_DIR/mlflow (nothing leaves the
machine, nothing lands in git). Set MLFLOW_TRACKING_URI to use a tracking server instead; MLflow reads
any credentials it needs from its own environment variables.
"""
from __future__ import annotations

import os
from pathlib import Path

from smb_warehouse.core import paths


def mlflow_dir() -> Path:
    return paths.data_dir() / "mlflow"


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{mlflow_dir() / 'mlflow.db'}"


def artifact_location() -> str:
    return (mlflow_dir() / "artifacts").as_uri()


def configure():
    """Point mlflow at this project's store; returns an MlflowClient. Telemetry stays off."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow_dir().mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(tracking_uri())
    mlflow.set_registry_uri(tracking_uri())
    return MlflowClient(tracking_uri=tracking_uri(), registry_uri=tracking_uri())


def ensure_experiment(name: str) -> str:
    """Experiment id for `name`, created with this project's artifact location on first use."""
    client = configure()
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    return client.create_experiment(name, artifact_location=f"{artifact_location()}/{name}")
