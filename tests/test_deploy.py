"""The multi-machine deployment files (deploy/) name what the project really has: the code location module
Dagster loads, variables the project reads, the lock files the image installs. (No cluster or Docker here:
this is what can be checked without one.)"""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"


def test_the_helm_values_load_the_project_code_location_with_a_shared_data_dir():
    values = yaml.safe_load((DEPLOY / "kubernetes" / "values.yaml").read_text())
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    args = deployment["dagsterApiGrpcArgs"]
    assert args[0] == "-m"
    module = importlib.import_module(args[1])
    assert module.defs.resolve_job_def("warehouse_job")
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    mounts = {m["mountPath"] for m in launcher["volumeMounts"]} & {m["mountPath"] for m in deployment["volumeMounts"]}
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    (data_dir,) = re.findall(r"SMB_DATA_DIR=(\S+)", dockerfile)
    assert data_dir in mounts, "runs and the code location see the same data dir"
    assert values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]["maxConcurrentRuns"] == 1


def test_the_image_installs_the_lock_and_names_only_real_settings():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {"data/", ".venv*/", "target/", ".git/"} <= set(ignored), "no data, PII key or venv in the image"
    assert "USER smb" in dockerfile
    for name in re.findall(r"-r (\S+)", dockerfile):
        assert (ROOT / name).exists(), name
    values = (DEPLOY / "kubernetes" / "values.yaml").read_text()
    code = "\n".join(p.read_text() for p in [*ROOT.glob("smb_warehouse/**/*.py"), *ROOT.glob("orchestration/**/*.py"),
                                             ROOT / "profiles.yml"])
    for name in set(re.findall(r"\b((?:SMB|DBT)_[A-Z_]+)=", values + dockerfile)):
        if name != "DBT_SEND_ANONYMOUS_USAGE_STATS":
            assert name in code, f"{name} is not read anywhere in the project"
