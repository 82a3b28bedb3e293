"""Demand forecasting that degrades safely, end to end at tiny scale through Dagster and a real MLflow store.

One staged-rollout scenario (module fixture `rollout`) runs the jobs on successive cuts of ONE landing zone:
simulator data with a regime change, generated from 2031-01-01 (so it also proves a warehouse whose data starts
in 2031 builds its calendar, features and forecasts). The simulator's `regime_drop` scenario: from 2032-10-01
every product turns weekend-heavy and its demand falls to 20-35% of its level (a lost channel). (Its
`regime_change` scenario mixes rises and falls; at this scale its October demand ROSE, and on sparse daily series
WAPE falls when demand rises, so no forecaster's live KPI degraded and nothing could roll back.) Each cut adds
the next month of exports:

  R1  data to 2032-07-31   first candidate (a deliberately weak spec) passes the gate -> first champion v1
  R2  ... to 2032-08-31    candidate v2 (default spec) passes -> challenger in shadow; v1 serves
  R3  ... to 2032-09-30    candidate v3 (max_iter=1) refused by the gate (WARN, the run still publishes);
                           v2's 14 shadow days have matured and beat v1 on the same points -> promoted, with the
                           named approval a person recorded (require_approver on for this run); v2 serves
  R4  ... to 2032-10-31    the regime changed on 2032-10-01: feature drift opens the circuit breaker (safe mode)
                           and v2's live WAPE on its matured October forecasts (it over-forecasts the collapsed
                           demand) is worse than v1's while it served (August, September) by more than the
                           rollback threshold -> automatic rollback to v1; candidate v4 held

At this scale no model beats the zero forecast on daily SKU x location WAPE (series are sparse: the honest gate
refuses every candidate, see test_the_honest_gate_keeps_the_baseline_on_2016_data), so the scenario relaxes the
baseline margin and the live-breach margin through their settings (SMB_FORECAST_BASELINE_MARGIN, ..._LIVE_BREACH_
MARGIN) to exercise shadow, promotion and rollback; every other threshold is the default. Its models forecast the
mean (point="mean", expected units): the default median forecast is 0 on nearly every series at this scale, so its
live WAPE is 1.0 whatever the demand does and no KPI could degrade.

R2 and R3 run only what forecasting needs (up to scoring, and the registry mirror) and publish through the
warehouse seam; R1 and R4 run
everything forecasting touches, monitoring and the kpi marts included, and publish through the publish asset.
A separate light run on data ending in 2017 checks the calendar and the honest gate with default settings.
"""
from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import AssetKey, AssetSelection, DagsterInstance, build_sensor_context

from tests.conftest import TINY_SCALE
from tests.support import environment, query, query_df, run_env, step_failures

MODEL = "demand_forecaster"
WORKFLOW = "demand_forecasting"
# Models that dbt relationship tests on the feature table's parents point at (must exist in a subset run).
RELATIONSHIP_TARGETS = AssetSelection.assets(*[AssetKey(["marts", m]) for m in (
    "dim_location", "dim_supplier", "dim_customer_v1", "dim_customer_v2")])
START_2031 = dt.date(2031, 1, 1)
RELAXED = {"SMB_FORECAST_BASELINE_MARGIN": "-1.0", "SMB_FORECAST_LIVE_BREACH_MARGIN": "2.0"}
WEAK = {"max_iter": 20, "learning_rate": 0.05}
MEAN = {"point": "mean"}  # every model of the rollout scenario (module docstring)
PROJECT = Path(__file__).resolve().parents[2]


def _subset_job(defs, selection):
    """`selection` plus the multi-asset siblings Dagster needs to run it."""
    keys = set(selection.required_multi_asset_neighbors().resolve(defs.resolve_asset_graph()))
    return defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection=keys)


def forecasting_job(defs):
    """Everything upstream and downstream of the forecasting assets (kpi marts, safe-mode copy, publish)."""
    from orchestration.forecasting.assets import CANDIDATE, DRIFT, REGISTRY

    mine = AssetSelection.assets(CANDIDATE, REGISTRY, DRIFT)
    return _subset_job(defs, mine.upstream() | mine.downstream() | RELATIONSHIP_TARGETS.upstream())


def scoring_job(defs, with_safe_mode_copy: bool = False):
    """Only what the forecast needs: load, model, features, candidate, rollout, scoring, and the registry mirror
    (the published mirror is the record of the registry's aliases; the next run's claim restores them from it).
    No monitoring, kpi marts or publish step: the test publishes through the warehouse seam (``_publish``).
    ``with_safe_mode_copy``: also the copy of the safe-mode store (ml.workflow_run_outcomes, ...), without the
    other workflows that record into it."""
    from orchestration.forecasting.assets import FORECASTS, REGISTRY
    from orchestration.safe_mode.assets import OUTCOMES

    selection = AssetSelection.assets(FORECASTS, REGISTRY).upstream() | RELATIONSHIP_TARGETS.upstream()
    return _subset_job(defs, selection | AssetSelection.assets(OUTCOMES) if with_safe_mode_copy else selection)


def _cut(source: Path, landing: Path, last_month: str) -> None:
    """Copy every export batch of ``source`` up to ``last_month`` (YYYY-MM, from the file name) into ``landing``."""
    for path in source.rglob("*"):
        if path.is_file() and path.stem.rsplit("_", 1)[-1][:7] <= last_month:
            target = landing / path.relative_to(source)
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)


def _candidate_config(**knobs) -> dict:
    return {"ops": {"forecasting__demand_forecaster_candidate": {"config": knobs}}}


def _checks(result) -> dict[str, tuple[bool, str]]:
    return {f"{e.event_specific_data.asset_key.to_user_string()}:{e.event_specific_data.check_name}":
            (bool(e.event_specific_data.passed), str(e.event_specific_data.severity))
            for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}


def _meta(result, node: str, key: str | None = None) -> dict:
    for m in result.asset_materializations_for_node(node):
        if key is None or m.asset_key.to_user_string() == key:
            return {k: v.value for k, v in m.metadata.items()}
    raise AssertionError(f"{node} ({key}) did not materialize")


def _publish(result) -> None:
    """Publish the run's candidate as the publish asset does (atomic rename), without its dbt docs site."""
    from smb_warehouse.core.warehouse import Warehouse

    with Warehouse().writer(result.run_id) as store:
        store.publish(result.run_id)


def _champion() -> str | None:
    from smb_warehouse.core import registry

    info = registry.version_info(MODEL)
    return str(info.version) if info is not None else None


@pytest.fixture(scope="module")
def rollout(tmp_path_factory: pytest.TempPathFactory):
    """The four runs of the module docstring, one data dir / MLflow store / safe-mode and rollout store / Dagster
    instance. Returns the run results, the published warehouse and what was observed between runs."""
    from sme_sim import generate

    root = tmp_path_factory.mktemp("forecast_rollout")
    source, landing = root / "exports", root / "landing"
    generate(source, root / "ground_truth", seed=7, scale=TINY_SCALE, scenario="regime_drop", start_date=START_2031)
    seen: dict = {"root": root, "published": root / "warehouse" / "warehouse.duckdb"}
    with environment(run_env(root, landing, SMB_ALERT_WEBHOOK_URL=None, SMB_ALERT_CHANNEL=None, **RELAXED)):
        from orchestration.definitions import defs
        from orchestration.forecasting import cli

        instance = DagsterInstance.ephemeral()
        seen.update(defs=defs, instance=instance)

        def run(job, last_month: str, publish_myself: bool, **knobs):
            _cut(source, landing, last_month)
            result = job.execute_in_process(instance=instance, run_config=_candidate_config(**MEAN, **knobs),
                                            raise_on_error=False)
            assert result.success, step_failures(result)
            if publish_myself:
                _publish(result)
            return result

        seen["r1"] = run(forecasting_job(defs), "2032-07", False, **WEAK)
        seen["after_r1"] = {"champion": _champion(), "rollback_cli": _cli_rollback()}
        seen["r2"] = run(scoring_job(defs), "2032-08", True)
        seen["after_r2"] = {"champion": _champion()}
        assert cli.approve(_meta(seen["r2"], "forecast_rollout", "forecasting/demand_forecaster_champion")
                           ["challenger_version"], by="ann", why="shadow results reviewed") == 0
        with environment({"SMB_FORECAST_REQUIRE_APPROVER": "1"}):
            seen["r3"] = run(scoring_job(defs), "2032-09", True, max_iter=1, learning_rate=0.01, force=True)
        seen["after_r3"] = {"champion": _champion(),
                            "forecasts": query(seen["published"], "SELECT DISTINCT model_version FROM ml.demand_forecasts")}
        seen["r4"] = run(forecasting_job(defs), "2032-10", False)
        seen["after_r4"] = {"champion": _champion(), "rollback_cli": _cli_rollback()}
        yield seen


def _cli_rollback() -> tuple[int, str]:
    """`make forecast-rollback` as a subprocess in the current environment: (exit code, stderr)."""
    done = subprocess.run([sys.executable, "-m", "orchestration.forecasting.cli", "rollback"], cwd=PROJECT,
                          capture_output=True, text=True, timeout=300)
    return done.returncode, done.stderr


def _events(published: Path) -> list[tuple[str, str]]:
    return [(e, v) for e, v in query(published, "SELECT event, model_version FROM ml.model_rollout_log ORDER BY seq")]


def test_a_warehouse_starting_in_2031_has_its_calendar_features_and_forecasts(rollout):
    published = rollout["published"]
    first, last, rows = query(published, "SELECT min(date_day), max(date_day), count(*) FROM marts.dim_date")[0]
    assert first == dt.date(2031, 1, 1) and last >= dt.date(2032, 10, 31) + dt.timedelta(days=28)
    assert rows == (last - first).days + 1
    f_first, f_last, n = query(published, "SELECT min(demand_date), max(demand_date), count(*) "
                                          "FROM intermediate.int_forecasting__demand_features")[0]
    assert f_first.year == 2031 and f_last == dt.date(2032, 10, 31) + dt.timedelta(days=28) and n > 10_000
    dates = query(published, "SELECT min(forecast_date), max(forecast_date), count(*) FROM ml.demand_forecasts")[0]
    assert dates[0] == dt.date(2032, 11, 1) and dates[1] == dt.date(2032, 11, 14) and dates[2] > 0


def test_first_passing_candidate_becomes_champion_and_rollback_explains_there_is_nothing_to_roll_back_to(rollout):
    assert rollout["after_r1"]["champion"] == "1"
    code, err = rollout["after_r1"]["rollback_cli"]
    assert code == 1 and "Traceback" not in err
    assert err.strip() == f"nothing to roll back to: {MODEL} v1 is the first champion (it replaced no earlier version)"
    checks = _checks(rollout["r1"])
    assert checks["forecasting/demand_forecaster_candidate:beats_baselines_and_champion"][0]


def test_a_passing_candidate_runs_in_shadow_before_it_serves(rollout):
    r2 = _meta(rollout["r2"], "forecast_rollout", "forecasting/demand_forecaster_champion")
    assert (r2["champion_version"], r2["challenger_version"], r2["serving_version"]) == ("1", "2", "1")
    scoring = _meta(rollout["r2"], "forecast_scoring", "ml/demand_forecast_shadow_log")
    assert scoring["challenger_version"] == "2" and scoring["this_run"] > 0
    published = rollout["published"]
    shadow = query(published, "SELECT DISTINCT model_version, origin_date FROM ml.demand_forecast_shadow_log")
    served = query(published, "SELECT DISTINCT model_version FROM ml.demand_forecast_log WHERE origin_date = ?",
                   [dt.date(2032, 8, 31)])
    assert shadow == [("2", dt.date(2032, 8, 31))] and served == [("1",)]  # logged beside the champion, never served


def test_a_refused_candidate_does_not_stop_the_run_and_the_champion_serves(rollout):
    r3 = rollout["r3"]
    assert r3.success
    passed, severity = _checks(r3)["forecasting/demand_forecaster_candidate:beats_baselines_and_champion"]
    assert not passed and "WARN" in severity
    published = rollout["published"]
    refused = query(published, "SELECT model_version, reason FROM ml.model_rollout_log WHERE event = 'gate_refused'")
    assert [v for v, _ in refused] == ["3"] and "worse than champion" in refused[0][1]
    from smb_warehouse.core import registry

    assert registry.version_info(MODEL, "3").tags["gate_status"] == "refused"
    # the warehouse published in R3 carries forecasts of the champion, never of the refused candidate
    assert rollout["after_r3"]["forecasts"] == [(rollout["after_r3"]["champion"],)]
    outcome = query(published, "SELECT serving, degraded, gate_passed FROM ml.workflow_run_outcomes "
                               "WHERE dagster_run_id = ?", [r3.run_id])
    assert outcome == [(f"{MODEL} v2", True, False)]


def test_promotion_after_shadow_with_a_named_approver(rollout):
    assert rollout["after_r2"]["champion"] == "1" and rollout["after_r3"]["champion"] == "2"
    log = query_df(rollout["published"], "SELECT * FROM ml.model_rollout_log ORDER BY seq")
    approved = log[log["event"] == "approved"]
    assert list(approved["model_version"]) == ["2"] and list(approved["decided_by_kind"]) == ["person"]
    promoted = log[(log["event"] == "promoted") & (log["model_version"] == "2")].iloc[0]
    assert promoted["decided_by"] == "ann" and promoted["other_version"] == "1"
    assert promoted["live_wape"] <= promoted["compared_wape"]  # shadow WAPE at least as good, same points
    assert "approved by ann: shadow results reviewed" in promoted["reason"]
    accuracy = query(rollout["published"], "SELECT count(*) FROM marts.kpi_forecasting__accuracy "
                                           "WHERE evaluation_source = 'shadow' AND model_version = '2'")
    assert accuracy == [(1,)]


def test_kpi_degradation_after_the_regime_change_rolls_the_champion_back_automatically(rollout):
    published = rollout["published"]
    assert rollout["after_r4"]["champion"] == "1"
    back = query_df(published, "SELECT * FROM ml.model_rollout_log WHERE event = 'rolled_back'")
    assert len(back) == 1
    row = back.iloc[0]
    assert (row["model_version"], row["other_version"], row["decided_by_kind"]) == ("2", "1", "run")
    assert row["live_wape"] > 1.25 * row["compared_wape"]
    assert query(published, "SELECT DISTINCT model_version FROM ml.demand_forecasts") == [("1",)]
    from smb_warehouse.core import registry

    assert registry.version_info(MODEL, "2").tags["gate_status"] == "rolled_back"
    meta = _meta(rollout["r4"], "forecast_rollout", "forecasting/demand_forecaster_champion")
    assert meta["rolled_back_from"] == "2" and meta["serving_version"] == "1"
    mirrored = query(published, "SELECT model_version FROM ml.model_registry WHERE model_name = ? AND is_champion", [MODEL])
    assert mirrored == [("1",)]
    code, err = rollout["after_r4"]["rollback_cli"]  # v1 was restored, it replaced nothing: nothing further back
    assert code == 1 and err.startswith("nothing to roll back to") and "Traceback" not in err


def test_drift_opens_the_circuit_breaker_and_holds_new_candidates(rollout):
    published = rollout["published"]
    health = query_df(published, "SELECT * FROM marts.kpi_ml__workflow_health WHERE workflow = ?", [WORKFLOW]).iloc[0]
    assert (health["breaker_state"], health["mode"], health["health_status"]) == ("open", "champion_or_baseline", "safe_mode")
    assert health["breaker_reason"].startswith("feature drift") and health["last_serving"] == f"{MODEL} v1"
    changes = query(published, "SELECT state, changed_by_kind FROM marts.fct_workflow_mode_changes WHERE workflow = ?",
                    [WORKFLOW])
    assert changes == [("open", "run")]  # closed through R1-R3, opened by R4's guards
    held = query(published, "SELECT model_version, reason FROM ml.model_rollout_log WHERE event = 'challenger_held'")
    assert [v for v, _ in held] == ["4"] and held[0][1].startswith("safe mode champion_or_baseline")
    checks = _checks(rollout["r4"])
    assert checks["ml/workflow_safe_mode_log:no_workflow_in_safe_mode"] == (False, "AssetCheckSeverity.WARN")
    assert not checks["forecasting/demand_forecaster_champion:serving_without_fallback"][0]
    assert query(published, "SELECT drifted FROM ml.drift_metrics WHERE drift_kind = 'feature' "
                            "AND column_name = '__dataset__' AND dagster_run_id = ?", [rollout["r4"].run_id]) == [(True,)]
    from orchestration.forecasting.jobs import forecast_drift_sensor

    context = build_sensor_context(instance=rollout["instance"], definitions=rollout["defs"])
    requests = list(forecast_drift_sensor(context) or [])
    assert len(requests) == 1 and requests[0].run_config["ops"]["forecasting__demand_forecaster_candidate"]["config"]["force"]


def test_a_person_closes_the_breaker(rollout, monkeypatch):
    from smb_warehouse.core import safe_mode

    monkeypatch.setenv("SMB_DATA_DIR", str(rollout["root"]))
    assert safe_mode.main(["close", WORKFLOW, "--by", "bob", "--why", "new regime confirmed with sales"]) == 0
    state = safe_mode.state(WORKFLOW)
    assert (state.state, state.changed_by, state.changed_by_kind) == ("closed", "bob", "person")


def test_the_drift_breaker_stays_closed_on_stable_data_and_opens_on_the_regime_change(rollout):
    """Stable behaviour = the same extracts cut before the regime change date (regime_changes.csv): up to
    then the regime_drop scenario IS the stable generator. Same dbt features, same Evidently test as the
    breaker's drift guard (Guards.breaker_drift_score: one watched feature moved >= 0.3 reference std).

    Not asserted: the monitoring check's own verdict (>= 40% of watched columns at >= 0.1 std), which only asks
    for a retrain and which seasonal level shifts trip at this scale (hist_mean_28d / hist_nonzero_share_28d
    at 0.12-0.16 std in the window before the change; 14 of 33 two-week stable windows in 2031-2032)."""
    import pandas as pd

    from smb_warehouse.forecasting import monitoring
    from smb_warehouse.forecasting.config import Guards

    with open(rollout["root"] / "ground_truth" / "regime_changes.csv", newline="") as fh:
        change = min(r["change_date"] for r in csv.DictReader(fh) if r["affected"] == "true")
    assert change == "2032-10-01"
    limit = Guards().breaker_drift_score

    def strongest(where: str, params: list) -> tuple[pd.Series, pd.Timestamp]:
        features = query_df(rollout["published"], "SELECT * FROM intermediate.int_forecasting__demand_features "
                                                  f"WHERE NOT is_future {where}", params)
        outcome = monitoring.feature_drift(features, "stable" if params else "regime")
        scores = outcome.rows[outcome.rows["column_name"] != "__dataset__"].set_index("column_name")["drift_score"]
        return scores, pd.Timestamp(outcome.rows["current_end"].iloc[0])

    stable, stable_end = strongest("AND demand_date < ?", [change])
    assert stable_end < pd.Timestamp(change)
    assert stable.max() < limit, stable.to_dict()
    regime, regime_end = strongest("", [])
    assert regime_end == pd.Timestamp("2032-10-31") and regime.max() >= limit, regime.to_dict()


@pytest.fixture(scope="module")
def data_2016(tmp_path_factory: pytest.TempPathFactory):
    """A light run (load, model, forecast; default settings) on data from 2016-01-01 to 2017-12-31."""
    from sme_sim import generate

    root = tmp_path_factory.mktemp("forecast_2016")
    generate(root / "landing", root / "ground_truth", seed=11, scale=TINY_SCALE, start_date=dt.date(2016, 1, 1))
    # default settings: unset every SMB_FORECAST_* override (the rollout fixture's relaxed margins stay set
    # while its module-scoped yield is alive, i.e. for the whole module)
    defaults = {k: None for k in os.environ if k.startswith("SMB_FORECAST_")}
    with environment({**run_env(root, root / "landing"), **defaults}):
        from orchestration.definitions import defs

        result = scoring_job(defs, with_safe_mode_copy=True).execute_in_process(instance=DagsterInstance.ephemeral(),
                                                                       raise_on_error=False)
        assert result.success, step_failures(result)
        _publish(result)
    return {"root": root, "result": result, "published": root / "warehouse" / "warehouse.duckdb"}


def test_a_warehouse_ending_in_2017_builds_features_and_forecasts(data_2016):
    published = data_2016["published"]
    assert query(published, "SELECT min(date_day) FROM marts.dim_date") == [(dt.date(2016, 1, 1),)]
    last_actual, n = query(published, "SELECT max(demand_date), count(*) FROM intermediate.int_forecasting__demand_features "
                                      "WHERE NOT is_future")[0]
    # the data end on the last order day: the simulated B2B seller takes few orders at weekends (2017-12-30/31)
    last_order = query(published, "SELECT max(order_date) FROM marts.fct_sales_order_lines WHERE order_status <> 'cancelled'")
    assert last_order == [(last_actual,)] and dt.date(2017, 12, 25) <= last_actual <= dt.date(2017, 12, 31) and n > 10_000
    n, first, last = query(published, "SELECT count(*), min(forecast_date), max(forecast_date) FROM ml.demand_forecasts")[0]
    assert n > 0 and (first, last) == (last_actual + dt.timedelta(days=1), last_actual + dt.timedelta(days=14))


def test_the_honest_gate_keeps_the_baseline_on_2016_data(data_2016):
    """Default gate and default (median) model: it does not beat the zero forecast by the gate's margin on these
    sparse series, so no candidate is promoted and every forecast row says which baseline made it; the run still
    succeeded and published."""
    published = data_2016["published"]
    refused = query_df(published, "SELECT * FROM ml.model_rollout_log WHERE event = 'gate_refused'")
    assert len(refused) == 1 and "does not beat zero" in refused["reason"].iloc[0]
    assert query(published, "SELECT DISTINCT model_version, mlflow_run_id FROM ml.demand_forecasts") == \
        [("baseline:zero", "baseline:zero")]
    n, bad = query(published, "SELECT count(*), count(*) FILTER (WHERE NOT (lower <= prediction AND prediction <= upper)) "
                              "FROM ml.demand_forecasts")[0]
    assert n > 0 and bad == 0
    outcome = query(published, "SELECT serving, degraded, gate_passed FROM ml.workflow_run_outcomes")
    assert outcome == [("baseline:zero", True, False)]
    metrics = _meta(data_2016["result"], "forecasting__demand_forecaster_candidate")
    from smb_warehouse.forecasting.config import Guards

    assert metrics["baseline_wapes"]["zero"] == 1.0 and metrics["backtest_wape"] > (1 - Guards().baseline_margin) * 1.0


def test_rollback_on_a_fresh_data_dir_is_one_line(tmp_path):
    """`make forecast-rollback` before anything was ever trained: one line, exit code 1, no stack trace."""
    with environment(run_env(tmp_path, tmp_path / "landing")):
        code, err = _cli_rollback()
    assert code == 1 and err.strip() == f"nothing to roll back to: {MODEL} has no champion yet"


def test_the_shared_run_links_its_evidently_reports_as_urls_the_reports_server_serves(tiny_run):
    """Forecast monitoring's reports (feature and prediction drift, backtest regression quality) are linked by
    URL through the same helper as the other ML workflows and served by `make ui`'s reports server; a report
    that has nothing to say yet (no matured forecasts on the first run) is a note, not a link."""
    from tests.report_checks import assert_reports_linked_and_served

    assert_reports_linked_and_served(tiny_run, "ml/drift_metrics", ["feature_drift", "prediction_drift"], "forecasting")
    assert_reports_linked_and_served(tiny_run, "ml/forecast_quality", [("backtest_regression", "regression_backtest_pooled")],
                                     "forecasting")
    quality = tiny_run["metadata"]["ml/forecast_quality"]
    if quality["matured_points"] == 0:
        assert quality["matured_regression_report"] == "no matured forecasts yet"
        assert "matured_regression_report_path" not in quality
