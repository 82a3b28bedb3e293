"""Demand forecasting benchmark (not a test): `python -m benchmarks.forecast [--scale 1] [--seed 42]`.

On one rolling-origin backtest (the project's, same folds, same series, same horizons) it prints WAPE,
bias and (where defined) interval coverage for: seasonal naive, this project's model, statsforecast
AutoETS (season 7, per series), and the oracle (the generator's true mean, demand_means.csv), plus the
project model's training / scoring time and peak memory. Targets: project <= 0.85 x seasonal naive,
<= AutoETS, <= 1.15 x oracle.

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


def build_features(root: Path, scale: float, seed: int) -> pd.DataFrame:
    """Generate extracts and build int_forecasting__demand_features through Dagster (only what the table needs)."""
    os.environ["SMB_DATA_DIR"] = str(root)
    os.environ["SMB_LANDING_DIR"] = str(root / "landing")
    from sme_sim import generate

    generate(root / "landing", root / "ground_truth", seed=seed, scale=scale)
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
            preds.append(np.full(h, y[-28:].mean()))
    np.save(out, np.array(preds))


def autoets(data, predictions: pd.DataFrame, horizon: int, python: str) -> tuple[np.ndarray, float]:
    """AutoETS forecasts aligned with the backtest rows; fit on each series' history up to the fold cut."""
    f = data.frame
    out = np.full(len(predictions), np.nan)
    started = time.perf_counter()
    for fold, rows in predictions.groupby("fold"):
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
                           cwd=Path(__file__).resolve().parents[2])
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
    merged = keys.merge(means, left_on=["sku", "location_id", "forecast_date"], right_on=["sku", "location_id", "date"], how="left")
    return merged["true_mean"].to_numpy(dtype=float)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.forecast", description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=None, help="default /tmp/smb_forecast_bench_s<scale>_<seed>")
    parser.add_argument("--bench-python", default=str(Path(".venv-bench/bin/python")),
                        help="interpreter with statsforecast (requirements-bench.txt)")
    parser.add_argument("--autoets-worker", nargs=2, metavar=("IN", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.autoets_worker:
        autoets_worker(*args.autoets_worker)
        return 0

    from smb_warehouse.forecasting import backtest
    from smb_warehouse.forecasting.backtest import coverage, point_metrics
    from smb_warehouse.forecasting.config import BacktestPlan, ForecastSpec
    from smb_warehouse.forecasting.dataset import prepare

    root = args.data_dir or Path(tempfile.gettempdir()) / f"smb_forecast_bench_s{args.scale:g}_{args.seed}"
    features = build_features(root, args.scale, args.seed)
    data = prepare(features)
    spec, plan = ForecastSpec(), BacktestPlan(n_folds=args.folds)
    n_series = features.groupby(["sku", "location_id"]).ngroups

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
    table = {"seasonal naive": point_metrics(actual, p["baseline"]),
             "project (HGB direct)": {**point_metrics(actual, p["prediction"]),
                                      "coverage": coverage(actual, p["lower"].to_numpy(), p["upper"].to_numpy())}}
    ets_note = ""
    if Path(args.bench_python).exists():
        ets, t_ets = autoets(data, p, spec.horizon, args.bench_python)
        table["statsforecast AutoETS"] = point_metrics(actual, np.nan_to_num(ets))
        ets_note = f" (AutoETS fit+forecast {t_ets:.1f}s over {args.folds} folds)"
    else:
        ets_note = f" (AutoETS skipped: {args.bench_python} missing; see requirements-bench.txt)"
    orc = oracle(root / "ground_truth", p)
    table["oracle (true mean)"] = point_metrics(actual, np.nan_to_num(orc))

    print(f"\nscale {args.scale:g} seed {args.seed}: {n_series} series, {len(p)} backtest points "
          f"({args.folds} folds x {spec.horizon} days), actual units {actual.sum():.0f}{ets_note}")
    print(f"{'model':<24}{'WAPE':>8}{'bias':>8}{'MAPE':>8}{'coverage':>10}")
    for name, m in table.items():
        cov = f"{m['coverage']:.3f}" if "coverage" in m else "-"
        print(f"{name:<24}{m['wape']:>8.3f}{m['bias']:>+8.3f}{m['mape']:>8.3f}{cov:>10}")
    ours = table["project (HGB direct)"]["wape"]
    checks = [("<= 0.85 x seasonal naive", ours <= TARGETS["vs_naive"] * table["seasonal naive"]["wape"],
               ours / table["seasonal naive"]["wape"]),
              ("<= 1.15 x oracle", ours <= TARGETS["vs_oracle"] * table["oracle (true mean)"]["wape"],
               ours / table["oracle (true mean)"]["wape"])]
    if "statsforecast AutoETS" in table:
        checks.insert(1, ("<= AutoETS", ours <= table["statsforecast AutoETS"]["wape"], ours / table["statsforecast AutoETS"]["wape"]))
    print("targets (project WAPE ratio):")
    for label, ok, ratio in checks:
        print(f"  {label:<26} {ratio:6.3f}  {'MET' if ok else 'MISSED'}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"project model: backtest {t_backtest:.1f}s ({args.folds} fits), final training {t_train:.1f}s, "
          f"scoring {len(rows)} rows {t_score * 1000:.0f}ms; peak traced memory {peak / 2**20:.0f} MiB, process max RSS {rss:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
