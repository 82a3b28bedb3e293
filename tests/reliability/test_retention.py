"""Retention keeps what runs leave behind bounded: old HTML reports and MLflow model versions (with their
files) go, while every version an alias or a kept publish needs stays loadable."""
from __future__ import annotations

import os
import time

import duckdb

from smb_warehouse.core import registry, retention, tracking
from smb_warehouse.core.config import environment


def test_reports_keep_the_newest_n_of_each_kind(tmp_path):
    folder = tmp_path / "forecasting"
    folder.mkdir()
    now = time.time()
    for i in range(5):
        for kind in ("feature_drift", "prediction_drift"):
            path = folder / f"{kind}_{i:08x}.html"
            path.write_text("<html/>")
            os.utime(path, (now - 100 + i, now - 100 + i))
    deleted = retention.prune_reports(tmp_path, keep=2)
    assert len(deleted) == 6
    assert sorted(p.name for p in folder.iterdir()) == [f"{k}_{i:08x}.html" for k in ("feature_drift", "prediction_drift")
                                                        for i in (3, 4)]


def test_n_plus_two_runs_of_every_workflow_report_kind_are_pruned_to_the_newest_n(tmp_path):
    """Reports named as the ML workflows name them (core.reports.report_path: <kind>_<run tag>.html, per
    workflow folder), N + 2 runs of each kind: SMB_KEEP_REPORTS = N keeps the newest N of every kind."""
    from smb_warehouse.core import reports

    keep, kinds = 3, {"forecasting": ["feature_drift", "regression_backtest_pooled"],
                      "reconciliation": ["match_quality", "drift"], "triage": ["category_quality", "drift"]}
    now = time.time()
    with environment({"SMB_DATA_DIR": str(tmp_path), "SMB_REPORTS_DIR": None, "SMB_KEEP_REPORTS": str(keep)}):
        runs = [f"run-{i}" for i in range(keep + 2)]  # not UUIDs: run_tag hashes them, still 8 hex digits
        made = {}
        for i, run_id in enumerate(runs):
            for workflow, names in kinds.items():
                for kind in names:
                    path = reports.report_path(workflow, kind, run_id)
                    path.write_text("<html/>")
                    os.utime(path, (now - 100 + i, now - 100 + i))
                    made.setdefault((workflow, kind), []).append(path)
        deleted = retention.prune_reports()
    assert len(deleted) == 2 * sum(len(v) for v in kinds.values())
    for files in made.values():
        assert [p.exists() for p in files] == [False, False] + [True] * keep  # the two oldest runs went


class Constant:
    def __init__(self, value: float):
        self.value = value

    def predict(self, frame):
        return [self.value] * len(frame)


def _register(n: int) -> str:
    run = registry.TrainingRun(model_name="retention_probe", experiment="retention_probe", model=Constant(n), params={"n": n},
                               metrics={"score": float(n)}, data_fingerprint=f"fp{n}",
                               training_window=("2024-01-01", "2024-02-01"), features=["x"])
    return registry.log_and_register(run)[0]


def test_mlflow_keeps_newest_aliased_and_published_versions_and_deletes_the_rest_with_their_files(tmp_path):
    with environment({"SMB_DATA_DIR": str(tmp_path), "MLFLOW_TRACKING_URI": None}):
        versions = [_register(n) for n in range(1, 6)]
        assert versions == ["1", "2", "3", "4", "5"]
        registry.promote("retention_probe", "2")
        # a kept publish whose mirror says v3 was champion then: v3 must stay restorable
        kept = tmp_path / "kept.duckdb"
        con = duckdb.connect(str(kept))
        con.execute("CREATE SCHEMA ml")
        con.execute("CREATE TABLE ml.model_registry (model_name VARCHAR, model_version VARCHAR, aliases VARCHAR)")
        con.execute("INSERT INTO ml.model_registry VALUES ('retention_probe', '3', 'champion'), ('retention_probe', '4', NULL)")
        con.close()
        models_dir = tracking.mlflow_dir() / "artifacts" / "retention_probe" / "models"
        assert len(list(models_dir.iterdir())) == 5

        result = retention.prune_mlflow(retention.protected_versions([kept]), keep=1)

        assert sorted(result.versions_deleted) == [("retention_probe", "1"), ("retention_probe", "4")]
        assert result.bytes_freed > 0 and not result.skipped
        client = tracking.configure()
        left = sorted(str(v.version) for v in client.search_model_versions("name = 'retention_probe'"))
        assert left == ["2", "3", "5"]
        assert len(list(models_dir.iterdir())) == 3  # the deleted versions' model files are gone
        assert registry.load("retention_probe").value == 2  # the champion still loads
        assert registry.load("retention_probe", version="3").value == 3  # so does the published one


def test_dbt_invocation_folders_keep_the_newest_n_and_any_in_use_and_nothing_else_is_touched(tmp_path):
    now = time.time()
    two_days = 2 * 86_400
    names = [f"{step}-{i:07x}-abcdef{i}" for i, step in
             enumerate(["warehouse_dbt_models", "warehouse_dbt_models_2", "warehouse_dbt_models_7"] * 2)]
    for i, name in enumerate(names):
        folder = tmp_path / name
        (folder / "run").mkdir(parents=True)
        (folder / "manifest.json").write_text("{}")
        for path in (folder / "run", folder / "manifest.json", folder):
            os.utime(path, (now - two_days + i, now - two_days + i))
    # the two oldest folders, but steps are writing into them right now (other data dirs' runs): beyond keep=1 by
    # count, one of them is still kept because it was written to within the last day
    for name in names[:2]:
        (tmp_path / name / "run" / "model.sql").write_text("select 1")
        os.utime(tmp_path / name, (now - two_days, now - two_days))
        os.utime(tmp_path / name / "run", (now, now))
    for keep in ("manifest.json", "partial_parse.msgpack"):
        (tmp_path / keep).write_text("x")
    (tmp_path / "compiled").mkdir()  # dbt's own folders and files are not invocation folders
    deleted = retention.prune_dbt_targets(tmp_path, keep=1)
    assert sorted(p.name for p in deleted) == sorted(names[2:])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["compiled", "manifest.json", "partial_parse.msgpack", names[0], names[1]])
