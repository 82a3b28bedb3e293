"""Demand forecasting end to end at tiny scale, through Dagster and a real MLflow store:
train -> gate -> promote -> score -> mirror -> monitor -> publish on regime_change data (drift flagged,
sensor asks for a retrain); the blocking gate refuses a deliberately worse candidate; a second version is
promoted and the rollback CLI moves the champion back and republishes forecasts of the older version;
on the same extracts cut before the regime change the drift test stays quiet."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, AssetSelection, DagsterInstance, build_sensor_context

from tests.conftest import TINY_SCALE

MODEL = "demand_forecaster"
# Models that dbt relationship tests on the feature table's parents point at (must exist in a subset run).
RELATIONSHIP_TARGETS = AssetSelection.assets(*[AssetKey(["marts", m]) for m in (
    "dim_location", "dim_supplier", "dim_customer_v1", "dim_customer_v2")])


def _query(path: Path, sql: str, params: list | None = None):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def forecasting_job(defs):
    """The part of warehouse_job forecasting needs: everything upstream of the forecasting assets and
    everything downstream of them (kpi marts, publish). Other workflows' assets are left out to keep
    this module fast; test_end_to_end runs the whole job."""
    from orchestration.forecasting.assets import CANDIDATE, DRIFT, REGISTRY

    mine = AssetSelection.assets(CANDIDATE, REGISTRY, DRIFT)
    return _subset_job(defs, mine.upstream() | mine.downstream() | RELATIONSHIP_TARGETS.upstream())


def _subset_job(defs, selection):
    """`selection` plus the multi-asset siblings Dagster needs to run it."""
    keys = set(selection.required_multi_asset_neighbors().resolve(defs.resolve_asset_graph()))
    return defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection=keys)


@pytest.fixture(scope="module")
def regime(tmp_path_factory: pytest.TempPathFactory):
    """One forecasting run on regime_change extracts, in its own data dir / MLflow store / instance."""
    from sme_sim import generate

    root = tmp_path_factory.mktemp("forecast_regime")
    generate(root / "landing", root / "ground_truth", seed=7, scale=TINY_SCALE, scenario="regime_change")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SMB_DATA_DIR", str(root))
        mp.setenv("SMB_LANDING_DIR", str(root / "landing"))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        from orchestration.definitions import defs

        instance = DagsterInstance.ephemeral()
        result = forecasting_job(defs).execute_in_process(instance=instance, raise_on_error=False)
        assert result.success, [e.message for e in result.all_events if e.is_step_failure]
        yield {"root": root, "defs": defs, "instance": instance, "result": result,
               "published": root / "warehouse" / "warehouse.duckdb"}


def _champion() -> str:
    from smb_warehouse.core import registry

    return str(registry.version_info(MODEL).version)


def test_pipeline_trains_gates_scores_and_mirrors(regime):
    published = regime["published"]
    champion = _champion()
    versions = {v for (v,) in _query(published, "SELECT DISTINCT model_version FROM ml.demand_forecasts")}
    assert versions == {champion}
    n, horizons, bad = _query(published, """
        SELECT count(*), count(DISTINCT horizon), count(*) FILTER (WHERE NOT (lower <= prediction AND prediction <= upper))
        FROM ml.demand_forecasts""")[0]
    assert n > 0 and horizons == 14 and bad == 0
    mirrored = _query(published, "SELECT model_version, gate_status, data_fingerprint FROM ml.model_registry "
                                 "WHERE model_name = ? AND is_champion", [MODEL])
    snapshot = _query(published, "SELECT DISTINCT feature_snapshot FROM ml.demand_forecasts")
    assert mirrored == [(champion, "promoted", snapshot[0][0])]
    metrics = dict(_query(published, "SELECT metric_name, metric_value FROM ml.model_registry_metrics "
                                     "WHERE model_version = ?", [champion]))
    assert metrics["backtest_wape"] < metrics["baseline_wape"]
    backtest = _query(published, "SELECT count(*) FROM marts.kpi_forecasting__accuracy WHERE evaluation_source = 'backtest'")
    assert backtest[0][0] == 2  # one window per fold
    gate = [e for e in regime["result"].all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
            and e.event_specific_data.check_name == "beats_champion_and_baseline"]
    assert gate and gate[0].event_specific_data.passed


def test_regime_change_is_flagged_and_the_sensor_requests_a_retrain(regime):
    published = regime["published"]
    flagged = _query(published, "SELECT drifted FROM ml.drift_metrics WHERE drift_kind = 'feature' AND column_name = '__dataset__'")
    assert flagged == [(True,)]
    health = _query(published, "SELECT health_status FROM marts.kpi_ml__model_health WHERE model_name = ? AND is_champion", [MODEL])
    assert health == [("drifting",)]
    report = _query(published, "SELECT DISTINCT report_path FROM ml.drift_metrics WHERE drift_kind = 'feature'")[0][0]
    assert Path(report).is_file() and Path(report).is_relative_to(regime["root"] / "reports")
    from orchestration.forecasting.jobs import forecast_drift_sensor

    context = build_sensor_context(instance=regime["instance"], definitions=regime["defs"])
    requests = list(forecast_drift_sensor(context) or [])
    assert len(requests) == 1 and requests[0].run_config["ops"]["forecasting__demand_forecaster_candidate"]["config"]["force"]


def test_gate_blocks_a_worse_candidate(regime):
    published = regime["published"]
    before_champion = _champion()
    before = _query(published, "SELECT model_version, count(*) FROM ml.demand_forecasts GROUP BY 1")
    worse = {"ops": {"forecasting__demand_forecaster_candidate": {"config": {"max_iter": 1, "learning_rate": 0.01, "force": True}}}}
    result = regime["defs"].resolve_job_def("forecast_retrain_job").execute_in_process(
        instance=regime["instance"], run_config=worse, raise_on_error=False)
    assert not result.success
    gate = [e.event_specific_data for e in result.all_events
            if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert [g.passed for g in gate] == [False]
    assert _champion() == before_champion
    refused = gate[0].metadata["candidate_version"].value
    from smb_warehouse.core import registry

    assert registry.version_info(MODEL, refused).tags["gate_status"] == "refused"
    # nothing downstream ran: the published warehouse still carries the champion's forecasts
    assert _query(published, "SELECT model_version, count(*) FROM ml.demand_forecasts GROUP BY 1") == before


def test_promote_then_rollback_rescores_with_the_older_version(regime):
    from orchestration.forecasting import cli
    from smb_warehouse.core import registry

    published = regime["published"]
    first = _champion()
    retrain = {"ops": {"forecasting__demand_forecaster_candidate": {"config": {"force": True}}}}
    result = regime["defs"].resolve_job_def("forecast_retrain_job").execute_in_process(
        instance=regime["instance"], run_config=retrain, raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_step_failure]
    second = _champion()
    assert second != first
    assert _query(published, "SELECT DISTINCT model_version FROM ml.demand_forecasts") == [(second,)]

    assert cli.rollback(instance=regime["instance"]) == 0
    assert _champion() == first
    assert registry.version_info(MODEL, second).tags["gate_status"] == "rolled_back"
    assert _query(published, "SELECT DISTINCT model_version FROM ml.demand_forecasts") == [(first,)]
    assert _query(published, "SELECT model_version FROM ml.model_registry WHERE model_name = ? AND is_champion", [MODEL]) == [(first,)]
    logged = {v for (v,) in _query(published, "SELECT DISTINCT model_version FROM ml.demand_forecast_log")}
    assert {first, second} <= logged


def test_no_feature_drift_before_the_regime_change(regime):
    """Stable behaviour = the same extracts cut before the regime change date (regime_changes.csv): up to
    then the regime_change scenario IS the stable generator. Same dbt features, same Evidently test."""
    import csv

    import pandas as pd

    from smb_warehouse.forecasting import monitoring

    with open(regime["root"] / "ground_truth" / "regime_changes.csv", newline="") as fh:
        change = min(r["change_date"] for r in csv.DictReader(fh) if r["affected"] == "true")
    con = duckdb.connect(str(regime["published"]), read_only=True)
    try:
        features = con.execute("SELECT * FROM intermediate.int_forecasting__demand_features WHERE demand_date < ? AND NOT is_future", [change]).df()
    finally:
        con.close()
    stable = monitoring.feature_drift(features, "stable")
    assert not stable.detected, stable.rows[["column_name", "drift_score", "drifted"]].to_dict("records")
    assert pd.Timestamp(stable.rows["current_end"].iloc[0]) < pd.Timestamp(change)
