"""Demand forecasting benchmark (not a test): `python -m benchmarks.forecast [--scale 1] [--seed 42] [--data sim,superstore]`.

On one rolling-origin backtest per dataset (the project's folds; every method forecasts the same series,
origins and horizons) it prints WAPE, bias, MAPE and (where defined) interval coverage for the baselines
the gate compares with (seasonal naive, 28-day moving average, zero), this project's model as trained (its
default spec: the median point forecast, ``ForecastSpec.point``) and as its gate would serve it (the model if it
beats every baseline by the configured margin, else the best baseline:
``smb_warehouse.forecasting.training.decide``), the same model's mean forecast (``point="mean"``: expected
units, what the Poisson loss estimates; shown, not gated), statsforecast AutoETS (season 7, per series) and, on
simulator data, the oracle (the generator's true mean). WAPE = sum |actual - forecast| / sum actual: the median
minimises it, so on intermittent series (most days 0) the median forecast is near 0 and the mean loses to zero.

Datasets:
- ``sim``: simulator extracts at ``--scale``, loaded and modelled through Dagster (cached in the data dir).
  Targets: project <= 0.85 x seasonal naive, <= AutoETS, <= 1.15 x oracle.
- ``superstore``: /work/shared/datasets/superstore/superstore_orders.csv (9,994 order lines, 2016-2019),
  mapped into ERP exports by ``benchmarks.superstore.write_exports`` and loaded by the project's loader
  (``load_entity``, the contracts) into a scratch DuckDB; the feature table is then built by the dbt
  model int_forecasting__demand_features itself (its SQL compiled by dbt, run on minimal mart tables made
  from the loaded raw tables: order lines of shipped orders, product category and list price, the
  calendar; no stock snapshots or promotions in this data). Not the full Dagster pipeline: entity
  resolution and the other marts add minutes and nothing the features read. Two levels, all regions
  summed: ``sub-category`` (17 series) and ``sku`` (Product ID, ~1.8k sparse series).
  Targets: sub-category: project <= AutoETS and <= seasonal naive; sku: served forecast never worse
  than zero (if the model cannot beat zero the gate must keep a baseline, which this shows).

AutoETS runs in a separate interpreter (default .venv-bench/bin/python, see requirements-bench.txt):
statsforecast needs pandas < 3, the project pins pandas 3. Series go there as arrays (npz), forecasts
come back the same way.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

TARGETS = {"vs_naive": 0.85, "vs_oracle": 1.15}
PROJECT = Path(__file__).resolve().parents[1]
SUPERSTORE = PROJECT.parent / "shared" / "datasets" / "superstore" / "superstore_orders.csv"


def build_features(root: Path, scale: float, seed: int) -> pd.DataFrame:
    """Generate extracts and build int_forecasting__demand_features through Dagster (only what the table needs)."""
    os.environ["SMB_DATA_DIR"] = str(root)
    os.environ["SMB_LANDING_DIR"] = str(root / "landing")
    from sme_sim import generate

    generate(root / "landing", root / "ground_truth", seed=seed, scale=scale, force=False)
    cached = root / "features.parquet"
    if cached.exists():
        return pd.read_parquet(cached)
    import json

    from dagster import AssetSelection, DagsterInstance

    from orchestration.dbt.assets import DBT_PROJECT
    from orchestration.definitions import defs
    from orchestration.lib.dbt_translator import TRANSLATOR
    from orchestration.lib.resources import WarehouseResource
    from smb_warehouse.forecasting.dataset import FEATURES_MODEL, load_features

    # Keys from the project's translator over the manifest: every version of a versioned model (dim_customer
    # v1 and v2), which dagster-dbt's get_asset_key_for_model / build_dbt_asset_selection do not resolve.
    wanted = {FEATURES_MODEL, "dim_location", "dim_supplier", "dim_customer"}
    nodes = json.loads(DBT_PROJECT.manifest_path.read_text())["nodes"].values()
    targets = [TRANSLATOR.get_asset_key(n) for n in nodes if n["resource_type"] == "model" and n["name"] in wanted]
    keys = set(AssetSelection.assets(*targets).upstream().required_multi_asset_neighbors().resolve(defs.resolve_asset_graph()))
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection=keys)
    result = job.execute_in_process(instance=DagsterInstance.ephemeral(), raise_on_error=False)
    if not result.success:
        raise SystemExit("building the feature table failed")
    with WarehouseResource().connect(result.run_id) as con:
        features = load_features(con)
    features.to_parquet(cached)
    return features


def compiled_feature_sql(workdir: Path) -> str:
    """The SQL of the dbt model int_forecasting__demand_features as dbt compiles it for DuckDB."""
    from smb_warehouse.forecasting.dataset import FEATURES_MODEL

    env = {**os.environ, "DBT_DUCKDB_PATH": str(workdir / "compile.duckdb"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
           "DO_NOT_TRACK": "1"}
    target = workdir / "dbt_target"
    subprocess.run([str(Path(sys.executable).with_name("dbt")), "compile", "--project-dir", str(PROJECT), "--profiles-dir",
                    str(PROJECT), "--target-path", str(target), "--log-path", str(workdir / "dbt_logs"), "--select",
                    FEATURES_MODEL, "--quiet"], check=True, env=env, cwd=PROJECT, capture_output=True)
    found = list(target.rglob(f"compiled/**/{FEATURES_MODEL}.sql"))
    if len(found) != 1:
        raise SystemExit(f"dbt compiled {len(found)} files named {FEATURES_MODEL}.sql under {target}")
    return found[0].read_text()


def superstore_features(source: Path, level: str, workdir: Path) -> pd.DataFrame:
    """The feature table of the Superstore order lines at ``level`` (sub-category | sku), all regions summed.
    Exports by benchmarks.superstore.write_exports, loaded by the project's loader, features by the dbt SQL."""
    import duckdb

    from benchmarks.superstore import ENTITIES, write_exports
    from smb_warehouse.core import dbt_manifest
    from smb_warehouse.ingestion.contracts import load_contracts
    from smb_warehouse.ingestion.loader import ensure_ingestion_tables, load_entity

    db = workdir / f"superstore_{level}.duckdb"
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    try:
        write_exports(con, source, workdir / f"landing_{level}")
        erp = load_contracts()["erp"]
        ensure_ingestion_tables(con)
        for name in ENTITIES:
            load_entity(con, erp.entities[name], workdir / f"landing_{level}", load_id="superstore")
        key = "coalesce(p.sub_category, 'unknown')" if level == "sub-category" else "l.sku"
        # the relations the compiled feature SQL reads, named as dbt builds them (from the manifest)
        rel = {m: dbt_manifest.relation(m) for m in ("fct_sales_order_lines", "dim_product", "dim_date",
                                                      "fct_inventory_snapshots", "stg_crm__promotions")}
        for schema in sorted({r.split(".")[0] for r in rel.values()}):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        con.execute("""CREATE OR REPLACE TEMP VIEW products AS SELECT sku, any_value(category) AS category,
            any_value(json_extract_string(_extra_columns, '$.sub_category')) AS sub_category,
            avg(CAST(unit_price AS DOUBLE)) AS unit_price FROM raw.erp__products GROUP BY sku""")
        con.execute(f"""CREATE TABLE {rel['fct_sales_order_lines']} AS
            SELECT {key} AS sku, 'ALL' AS location_id, o.order_date, l.quantity, o.status AS order_status
            FROM raw.erp__sales_order_lines AS l JOIN raw.erp__sales_orders AS o USING (order_id)
            LEFT JOIN products AS p ON p.sku = l.sku""")
        con.execute(f"""CREATE TABLE {rel['dim_product']} AS
            SELECT {key.replace('l.sku', 'p.sku')} AS sku, any_value(p.category) AS category,
                   avg(p.unit_price) AS unit_price_base FROM products AS p GROUP BY 1""")
        con.execute(f"""CREATE TABLE {rel['dim_date']} AS
            SELECT CAST(d AS DATE) AS date_day, isodow(d) AS iso_day_of_week, weekofyear(d) AS iso_week,
                   month(d) AS month_number, isodow(d) IN (6, 7) AS is_weekend
            FROM (SELECT unnest(generate_series(min(order_date) - 400, max(order_date) + 400, INTERVAL 1 DAY)) AS d
                  FROM raw.erp__sales_orders)""")
        con.execute(f"CREATE TABLE {rel['fct_inventory_snapshots']} (sku VARCHAR, location_id VARCHAR, snapshot_date DATE, "
                    "on_hand_qty BIGINT)")
        con.execute(f"CREATE TABLE {rel['stg_crm__promotions']} (sku VARCHAR, start_date DATE, end_date DATE, "
                    "discount_pct DOUBLE)")
        sql = compiled_feature_sql(workdir) if not (workdir / "features.sql").exists() else (workdir / "features.sql").read_text()
        (workdir / "features.sql").write_text(sql)
        return con.execute(f"SELECT * FROM ({sql}) AS f ORDER BY sku, location_id, demand_date").df()
    finally:
        con.close()


def autoets_worker(inp: str, out: str) -> None:
    """Runs inside the bench venv: per series AutoETS(season_length=7) fit on `y`, forecast `h` days."""
    from statsforecast.models import AutoETS

    data = np.load(inp, allow_pickle=True)
    h = int(data["h"])
    preds = []
    for y in data["series"]:
        y = np.asarray(y, dtype=float)
        try:
            preds.append(np.maximum(AutoETS(season_length=7).forecast(y=y, h=h)["mean"], 0.0))
        except Exception:
            preds.append(np.full(h, y[-28:].mean() if len(y) else 0.0))
    np.save(out, np.array(preds))


def autoets(data, predictions: pd.DataFrame, horizon: int, python: str) -> tuple[np.ndarray, float]:
    """AutoETS forecasts aligned with the backtest rows; fit on each series' history up to the fold cut."""
    f = data.frame
    out = np.full(len(predictions), np.nan)
    started = time.perf_counter()
    for _, rows in predictions.groupby("fold"):
        origin = pd.Timestamp(rows["origin_date"].iloc[0])
        hist = f[(pd.to_datetime(f["demand_date"]) <= origin) & ~f["is_future"]]
        groups = hist.groupby(["sku", "location_id"], sort=True)["quantity"]
        keys = list(groups.groups.keys())
        series = np.empty(len(keys), dtype=object)
        for i, (_, y) in enumerate(groups):
            series[i] = y.to_numpy(dtype=float)[-364:]
        with tempfile.TemporaryDirectory() as tmp:
            inp, res = Path(tmp) / "in.npz", Path(tmp) / "out.npy"
            np.savez(inp, series=series, h=horizon)
            subprocess.run([python, "-m", "benchmarks.forecast", "--autoets-worker", str(inp), str(res)], check=True,
                           cwd=PROJECT)
            fc = np.load(res)
        index = {k: i for i, k in enumerate(keys)}
        rows_idx = rows.index.to_numpy()
        s = np.array([index.get((a, b), -1) for a, b in zip(rows["sku"], rows["location_id"])])
        h = rows["horizon"].to_numpy() - 1
        ok = s >= 0
        out[rows_idx[ok]] = fc[s[ok], h[ok]]
    return out, time.perf_counter() - started


def oracle(truth_dir: Path, predictions: pd.DataFrame) -> np.ndarray:
    means = pd.read_csv(truth_dir / "demand_means.csv", usecols=["date", "sku", "location_id", "true_mean"])
    means["date"] = pd.to_datetime(means["date"])
    keys = predictions[["sku", "location_id", "forecast_date"]].copy()
    keys["forecast_date"] = pd.to_datetime(keys["forecast_date"])
    merged = keys.merge(means, left_on=["sku", "location_id", "forecast_date"], right_on=["sku", "location_id", "date"],
                        how="left")
    return merged["true_mean"].to_numpy(dtype=float)


def evaluate(features: pd.DataFrame, folds: int, bench_python: str, truth_dir: Path | None = None) -> dict:
    """Every method on one rolling-origin backtest of ``features``: {"table": {method: metrics}, "gate": the
    gate's decision, "timing": ..., "n_series", "n_points", "note"}."""
    from smb_warehouse.forecasting import backtest, baselines
    from smb_warehouse.forecasting.backtest import coverage, point_metrics
    from smb_warehouse.forecasting.config import BacktestPlan, ForecastSpec
    from smb_warehouse.forecasting.dataset import prepare
    from smb_warehouse.forecasting.training import decide

    data = prepare(features)
    spec, plan = ForecastSpec(), BacktestPlan(n_folds=folds)
    tracemalloc.start()
    t0 = time.perf_counter()
    result = backtest.run(data, spec, plan)
    t_backtest = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = backtest.fit_final(data, spec, result)
    t_train = time.perf_counter() - t0
    rows = backtest.score_rows(data, spec)
    t0 = time.perf_counter()
    model.predict_interval(rows)
    t_score = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    p = result.predictions.reset_index(drop=True)
    actual = p["actual"].to_numpy()
    mean = backtest.run(data, spec.with_(point="mean"), plan).predictions.reset_index(drop=True)
    if not (mean[["sku", "location_id", "origin_date", "horizon"]].equals(p[["sku", "location_id", "origin_date", "horizon"]])):
        raise SystemExit("the mean and median backtests forecast different rows")
    base = {name: result.metrics[f"baseline_{name}_wape"] for name in baselines.NAMES}
    gate = decide(result.metrics["wape"], base, None, None)
    served = p["prediction"] if gate.passed else p[f"baseline_{gate.best_baseline}"]
    table = {"seasonal naive": point_metrics(actual, p["baseline_seasonal_naive"]),
             "moving average 28d": point_metrics(actual, p["baseline_moving_average_28d"]),
             "zero": point_metrics(actual, p["baseline_zero"]),
             "project model": {**point_metrics(actual, p["prediction"]),
                               "coverage": coverage(actual, p["lower"].to_numpy(), p["upper"].to_numpy())},
             "project as served": point_metrics(actual, served),
             "project model, mean": {**point_metrics(actual, mean["prediction"]),
                                     "coverage": coverage(actual, mean["lower"].to_numpy(), mean["upper"].to_numpy())}}
    note = ""
    if Path(bench_python).exists():
        ets, t_ets = autoets(data, p, spec.horizon, bench_python)
        table["statsforecast AutoETS"] = point_metrics(actual, np.nan_to_num(ets))
        note = f"AutoETS fit+forecast {t_ets:.1f}s over {folds} folds"
    else:
        note = f"AutoETS skipped: {bench_python} missing; see requirements-bench.txt"
    if truth_dir is not None:
        table["oracle (true mean)"] = point_metrics(actual, np.nan_to_num(oracle(truth_dir, p)))
    return {"table": table, "gate": gate, "note": note, "n_series": features.groupby(["sku", "location_id"]).ngroups,
            "n_points": len(p), "units": float(actual.sum()), "horizon": spec.horizon, "folds": folds,
            "timing": {"backtest": t_backtest, "train": t_train, "score": t_score, "score_rows": len(rows), "peak": peak}}


def print_result(title: str, res: dict, checks: list[tuple[str, bool, float]]) -> None:
    print(f"\n{title}: {res['n_series']} series, {res['n_points']} backtest points ({res['folds']} folds x {res['horizon']} "
          f"days), actual units {res['units']:.0f} ({res['note']})")
    print(f"  {'method':<24}{'WAPE':>8}{'bias':>8}{'MAPE':>8}{'coverage':>10}")
    for name, m in res["table"].items():
        cov = f"{m['coverage']:.3f}" if "coverage" in m else "-"
        print(f"  {name:<24}{m['wape']:>8.3f}{m['bias']:>+8.3f}{m['mape']:>8.3f}{cov:>10}")
    g = res["gate"]
    print(f"  gate: {'PASS, the model serves' if g.passed else 'FAIL, ' + g.best_baseline + ' serves'} - {g.reason}")
    print("  targets (WAPE ratio):")
    for label, ok, ratio in checks:
        print(f"    {label:<44} {ratio:6.3f}  {'MET' if ok else 'MISSED'}")
    t = res["timing"]
    print(f"  project model: backtest {t['backtest']:.1f}s ({res['folds']} folds), final training {t['train']:.1f}s, "
          f"scoring {t['score_rows']} rows {t['score'] * 1000:.0f}ms; peak traced memory {t['peak'] / 2**20:.0f} MiB")


def _ratio(table: dict, a: str, b: str) -> float:
    return table[a]["wape"] / table[b]["wape"] if table[b]["wape"] else float("inf")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.forecast", description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--folds", type=int, default=2, help="rolling-origin folds on simulator data")
    parser.add_argument("--superstore-folds", type=int, default=8, help="rolling-origin folds on Superstore (4 years)")
    parser.add_argument("--data", default="sim,superstore", help="comma-separated: sim, superstore")
    parser.add_argument("--superstore", type=Path, default=SUPERSTORE, help="the Superstore orders CSV")
    parser.add_argument("--data-dir", type=Path, default=None, help="default /tmp/smb_forecast_bench_s<scale>_<seed>")
    parser.add_argument("--bench-python", default=str(Path(".venv-bench/bin/python")),
                        help="interpreter with statsforecast (requirements-bench.txt)")
    parser.add_argument("--autoets-worker", nargs=2, metavar=("IN", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.autoets_worker:
        autoets_worker(*args.autoets_worker)
        return 0
    datasets = {d.strip() for d in args.data.split(",") if d.strip()}
    if datasets - {"sim", "superstore"}:
        parser.error(f"--data: unknown dataset(s) {sorted(datasets - {'sim', 'superstore'})}")

    if "sim" in datasets:
        root = args.data_dir or Path(tempfile.gettempdir()) / f"smb_forecast_bench_s{args.scale:g}_{args.seed}"
        res = evaluate(build_features(root, args.scale, args.seed), args.folds, args.bench_python, root / "ground_truth")
        t = res["table"]
        checks = [("project <= 0.85 x seasonal naive", _ratio(t, "project model", "seasonal naive") <= TARGETS["vs_naive"],
                   _ratio(t, "project model", "seasonal naive")),
                  ("project <= 1.15 x oracle", _ratio(t, "project model", "oracle (true mean)") <= TARGETS["vs_oracle"],
                   _ratio(t, "project model", "oracle (true mean)")),
                  ("served <= zero", _ratio(t, "project as served", "zero") <= 1.0, _ratio(t, "project as served", "zero"))]
        if "statsforecast AutoETS" in t:
            checks.insert(1, ("project <= AutoETS", _ratio(t, "project model", "statsforecast AutoETS") <= 1.0,
                              _ratio(t, "project model", "statsforecast AutoETS")))
        print_result(f"simulator scale {args.scale:g} seed {args.seed}", res, checks)

    if "superstore" in datasets:
        if not args.superstore.exists():
            print(f"\nsuperstore: {args.superstore} not found; skipped")
        else:
            with tempfile.TemporaryDirectory(prefix="bench-superstore-") as tmp:
                for level in ("sub-category", "sku"):
                    t0 = time.perf_counter()
                    features = superstore_features(args.superstore, level, Path(tmp))
                    built = time.perf_counter() - t0
                    res = evaluate(features, args.superstore_folds, args.bench_python)
                    t = res["table"]
                    if level == "sub-category":
                        checks = [(f"{m} <= seasonal naive", _ratio(t, m, "seasonal naive") <= 1.0,
                                   _ratio(t, m, "seasonal naive")) for m in ("project model", "project as served")]
                        if "statsforecast AutoETS" in t:
                            checks += [(f"{m} <= AutoETS", _ratio(t, m, "statsforecast AutoETS") <= 1.0,
                                        _ratio(t, m, "statsforecast AutoETS")) for m in ("project model", "project as served")]
                    else:
                        checks = [("project as served <= zero (never worse)", _ratio(t, "project as served", "zero") <= 1.0,
                                   _ratio(t, "project as served", "zero")),
                                  ("project model <= zero", _ratio(t, "project model", "zero") <= 1.0,
                                   _ratio(t, "project model", "zero"))]
                    print_result(f"superstore, {level} level (loaded + features in {built:.1f}s)", res, checks)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nprocess max RSS {rss:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
