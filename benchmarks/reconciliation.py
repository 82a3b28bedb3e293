"""AP reconciliation benchmark: auto-match rate and wrong-match rate against the generator's ground truth.

    python -m benchmarks.reconciliation [--scale 1] [--seed 42]
    python -m benchmarks.reconciliation --warehouse data/warehouse/warehouse.duckdb --truth data/ground_truth

Without --warehouse: generates extracts at --scale into a temporary SMB_DATA_DIR and runs the reconciliation
and everything upstream of it through Dagster (ingestion, dbt, entity resolution, the scorer, publish), exactly
as warehouse_job does, with an empty review decisions store (no human help). Then compares
marts.fct_ap_invoice_outcomes with ap_invoice_matches.csv:
  auto-match rate   : auto_matched / invoices that should be matched automatically (truth scenario exact,
                      split_delivery, wrong_po_typo, wrong_po_other, no_po); also shown over all invoices
  wrong-match rate  : auto_matched invoices whose PO differs from the true PO, or that should not have been
                      auto-matched at all (duplicate, no_po_expected, price_variance) / auto_matched invoices
Target: >= 90% auto-matched with <= 0.5% wrong.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

from smb_warehouse.core.dbt_manifest import relation

MATCHABLE = ("exact", "split_delivery", "wrong_po_typo", "wrong_po_other", "no_po")
NEVER_AUTO = ("duplicate", "no_po_expected", "price_variance")


def run_pipeline(root: Path, scale: float, seed: int) -> tuple[Path, Path]:
    """Generate, then materialise the reconciliation and its upstream through Dagster; (warehouse, truth)."""
    os.environ["SMB_DATA_DIR"] = str(root)
    os.environ.pop("SMB_LANDING_DIR", None)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    from dagster import AssetKey, DagsterInstance
    from dagster_dbt import build_dbt_asset_selection

    from sme_sim import generate

    generate(root / "landing", root / "ground_truth", seed=seed, scale=scale)
    from orchestration.dbt.assets import warehouse_dbt_models
    from orchestration.definitions import defs

    outputs = build_dbt_asset_selection([warehouse_dbt_models],
                                        dbt_select="kpi_ap_recon__outcomes fct_ap_review_queue dim_supplier dim_product")
    keys = outputs.upstream().required_multi_asset_neighbors().resolve(defs.resolve_asset_graph())
    result = defs.resolve_job_def("warehouse_job").execute_in_process(
        instance=DagsterInstance.ephemeral(), asset_selection=[*keys, AssetKey("published_warehouse")], raise_on_error=False)
    if not result.success:
        raise SystemExit(f"pipeline failed: {[e.message for e in result.all_events if e.is_step_failure]}")
    return root / "warehouse" / "warehouse.duckdb", root / "ground_truth"


def evaluate(warehouse: Path, truth_dir: Path) -> tuple[dict[str, float], pd.DataFrame]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        outcomes = con.execute("SELECT invoice_id, outcome, match_method, matched_po_number, exception_reason "
                               f"FROM {relation('fct_ap_invoice_outcomes')}").df()
    finally:
        con.close()
    truth = pd.read_csv(truth_dir / "ap_invoice_matches.csv", dtype=str)
    df = outcomes.merge(truth, on="invoice_id", how="inner")
    auto = df["outcome"] == "auto_matched"
    matchable = df["scenario"].isin(MATCHABLE)
    wrong = auto & ((df["matched_po_number"] != df["true_po_number"]) | df["scenario"].isin(NEVER_AUTO))
    metrics = {
        "invoices": len(df),
        "auto_match_rate_matchable": (auto & matchable).sum() / max(matchable.sum(), 1),
        "auto_match_rate_all": auto.mean(),
        "wrong_match_rate": wrong.sum() / max(auto.sum(), 1),
        "wrong_matches": int(wrong.sum()),
        "duplicates_flagged": ((df["scenario"] == "duplicate") & (df["exception_reason"] == "duplicate_invoice")).sum()
        / max((df["scenario"] == "duplicate").sum(), 1),
        "exception_rate": (df["outcome"] == "exception").mean(),
    }
    per_scenario = df.assign(auto=auto, wrong=wrong, model=auto & (df["match_method"] == "model:invoice_match_scorer")) \
        .groupby("scenario").agg(n=("invoice_id", "size"), auto_matched=("auto", "sum"), by_model=("model", "sum"),
                                 wrong=("wrong", "sum"),
                                 top_reason=("exception_reason", lambda s: s.dropna().mode().iat[0] if s.notna().any() else ""))
    return metrics, per_scenario


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.reconciliation", description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--warehouse", type=Path, help="evaluate this published warehouse instead of running the pipeline")
    p.add_argument("--truth", type=Path, help="ground-truth folder for --warehouse")
    args = p.parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="recon-bench-") as tmp:
        if args.warehouse:
            warehouse, truth = args.warehouse, args.truth or args.warehouse.parent.parent / "ground_truth"
        else:
            warehouse, truth = run_pipeline(Path(tmp), args.scale, args.seed)
        metrics, per_scenario = evaluate(warehouse, truth)
    elapsed = time.perf_counter() - started
    print(f"\nAP reconciliation benchmark (scale {args.scale}, seed {args.seed}; {metrics['invoices']} invoices; {elapsed:.0f}s)")
    print(per_scenario.to_string())
    print(f"\nauto-match rate (should-match invoices): {metrics['auto_match_rate_matchable']:.2%}   target >= 90%")
    print(f"auto-match rate (all invoices):          {metrics['auto_match_rate_all']:.2%}")
    print(f"wrong-match rate (of auto-matched):      {metrics['wrong_match_rate']:.2%} ({metrics['wrong_matches']})"
          "   target <= 0.5%")
    print(f"duplicates flagged:                      {metrics['duplicates_flagged']:.2%}")
    print(f"exception rate:                          {metrics['exception_rate']:.2%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
