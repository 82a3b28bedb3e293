"""Cash-flow anomaly benchmark: precision / recall of the bank-line anomaly scores against ground truth.

    python -m benchmarks.cashflow [--scale 1 --seed 42] [--threshold 0.7] [--use-published]

Generates extracts with sme_sim into a temporary folder and runs the whole `warehouse_job` there (the
real pipeline: load, dbt, scoring, alerts), then compares marts.fct_bank_txn_anomaly_scores with
bank_anomalies.csv (txn_id, anomaly_type). With --use-published it reads $SMB_DATA_DIR's published
warehouse and ground truth instead. Also prints the 30/60/90-day projection and the alert count.

`run_pipeline` is reused by the triage benchmark.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import duckdb
import pandas as pd

from smb_warehouse.core.config import environment
from smb_warehouse.core.dbt_manifest import relation


def workflows_selection():
    """The slice of `warehouse_job` the cash-flow and triage workflows need: their Python assets, all
    they read (ingestion, dbt up to the marts) and all that reads them (workflow marts, publish).
    Other teams' workflows are left out so these runs stay small and independent of them."""
    from dagster import AssetSelection

    from orchestration.cashflow.assets import alert_notifications, bank_txn_scores
    from orchestration.triage.assets import ticket_triage

    mine = AssetSelection.assets(bank_txn_scores, alert_notifications, ticket_triage)
    # all core marts too: their relationship tests need every dimension built in the same run
    return (mine.upstream() | AssetSelection.groups("marts").upstream() | mine.downstream()).required_multi_asset_neighbors()


def run_pipeline(data_dir: Path, landing: Path,
                 extra_env: Mapping[str, str | None] | None = None) -> tuple[Path, dict[str, bool]]:
    """Materialize workflows_selection() with SMB_DATA_DIR=data_dir through the project's Definitions (same
    resources, executor and write-audit-publish as `warehouse_job`); returns the published warehouse and
    {check name: passed} of the asset checks of our assets (raises when the run fails)."""
    from dagster import DagsterInstance

    env = {"SMB_DATA_DIR": str(data_dir), "SMB_LANDING_DIR": str(landing), "MLFLOW_TRACKING_URI": None, **(extra_env or {})}
    with environment(env):
        from orchestration.definitions import defs

        job_def = defs.get_repository_def().get_job("warehouse_job").get_subset(
            asset_selection=set(workflows_selection().resolve(defs.resolve_asset_graph())))
        result = job_def.execute_in_process(instance=DagsterInstance.ephemeral(), raise_on_error=False)
    if not result.success:
        failures = [e.message for e in result.all_events if e.is_step_failure]
        raise RuntimeError(f"warehouse_job failed: {failures}")
    checks = {e.event_specific_data.check_name: bool(e.event_specific_data.passed) for e in result.all_events
              if e.event_type_value == "ASSET_CHECK_EVALUATION"
              and e.event_specific_data.asset_key.path[0] in ("cashflow", "triage")}
    return data_dir / "warehouse" / "warehouse.duckdb", checks


def anomaly_scores(published: Path, truth_dir: Path) -> pd.DataFrame:
    con = duckdb.connect(str(published), read_only=True)
    try:
        scores = con.execute("SELECT finance_bank_txn_id, anomaly_score, anomaly_reason "
                             f"FROM {relation('fct_bank_txn_anomaly_scores')}").df()
    finally:
        con.close()
    truth = pd.read_csv(truth_dir / "bank_anomalies.csv", dtype=str)
    return scores.merge(truth, left_on="finance_bank_txn_id", right_on="txn_id", how="outer")


def precision_recall(merged: pd.DataFrame, threshold: float) -> dict[str, float]:
    flagged = merged["anomaly_score"].fillna(0) >= threshold
    actual = merged["anomaly_type"].notna()
    tp = int((flagged & actual).sum())
    return {"flagged": int(flagged.sum()), "anomalies": int(actual.sum()), "true_positives": tp,
            "precision": tp / flagged.sum() if flagged.sum() else 1.0, "recall": tp / actual.sum() if actual.sum() else 1.0}


def report(published: Path, truth_dir: Path, threshold: float) -> None:
    merged = anomaly_scores(published, truth_dir)
    pr = precision_recall(merged, threshold)
    print(f"bank lines scored: {merged['anomaly_score'].notna().sum()}   injected anomalies: {pr['anomalies']}")
    print(f"threshold {threshold}: flagged {pr['flagged']}  precision {pr['precision']:.3f}  recall {pr['recall']:.3f}")
    for kind, group in merged[merged["anomaly_type"].notna()].groupby("anomaly_type"):
        print(f"  recall {kind:<22} {(group['anomaly_score'].fillna(0) >= threshold).mean():.3f}  (n={len(group)})")
    con = duckdb.connect(str(published), read_only=True)
    try:
        print(con.execute("SELECT horizon_days, as_of_date, opening_balance_base, projected_balance_base, lowest_balance_base, "
                          f"is_below_floor FROM {relation('kpi_cashflow__projection_summary')} ORDER BY 1")
              .df().to_string(index=False))
        print(con.execute(f"SELECT alert_type, count(*) AS alerts FROM {relation('fct_cash_alerts')} GROUP BY 1 ORDER BY 1")
              .df().to_string(index=False))
    finally:
        con.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threshold", type=float, default=float(os.environ.get("SMB_ANOMALY_SCORE_THRESHOLD") or 0.7))
    parser.add_argument("--use-published", action="store_true")
    args = parser.parse_args(argv)
    if args.use_published:
        from smb_warehouse.core import paths

        report(paths.published_warehouse_path(), paths.data_dir() / "ground_truth", args.threshold)
        return
    from sme_sim import generate

    with tempfile.TemporaryDirectory(prefix="cashflow_bench_") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        generate(root / "landing", root / "ground_truth", seed=args.seed, scale=args.scale)
        published, _ = run_pipeline(root, root / "landing", {"SMB_ALERT_WEBHOOK_URL": None, "SMB_ALERT_CHANNEL": "log"})
        print(f"scale {args.scale} seed {args.seed}: generated + warehouse_job in {time.perf_counter() - started:.0f}s")
        report(published, root / "ground_truth", args.threshold)


if __name__ == "__main__":
    main()
