"""AP reconciliation benchmark: auto-match rate and wrong-match rate against the generator's ground truth, and
the cost of candidate generation and scoring.

    python -m benchmarks.reconciliation [--scale 1 5] [--seed 42]
    python -m benchmarks.reconciliation --warehouse data/warehouse/warehouse.duckdb --truth data/ground_truth

Without --warehouse: for each --scale, generates extracts into a temporary SMB_DATA_DIR and runs the
reconciliation and everything upstream of it through Dagster (ingestion, dbt, entity resolution, the scorer,
publish), exactly as warehouse_job does, with an empty review decisions store (no human help). Then compares
marts.fct_ap_invoice_outcomes with ap_invoice_matches.csv:
  auto-match rate   : auto_matched / invoices that should be matched automatically (truth scenario exact,
                      split_delivery, wrong_po_typo, wrong_po_other, no_po); also shown over all invoices
  wrong-match rate  : auto_matched invoices whose PO differs from the true PO, or that should not have been
                      auto-matched at all (duplicate, no_po_expected, price_variance) / auto_matched invoices;
                      also shown over the should-match invoices
and prints the candidate pairs per invoice (blocking must keep it flat as invoices grow), the candidate model's
dbt time, and the scorer's time (train or reuse + gate, then scoring), from the run's asset metadata.
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


def run_pipeline(root: Path, scale: float, seed: int) -> tuple[Path, Path, dict[str, float | str]]:
    """Generate, then materialise the reconciliation and its upstream through Dagster; (warehouse, truth, run
    figures: pairs, invoices, pairs_per_invoice, fit_seconds, scoring_seconds, serving, candidates_dbt_seconds)."""
    os.environ["SMB_DATA_DIR"] = str(root)
    os.environ.pop("SMB_LANDING_DIR", None)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    from dagster import AssetKey, DagsterInstance
    from dagster_dbt import build_dbt_asset_selection, get_asset_key_for_model

    from sme_sim import generate

    generate(root / "landing", root / "ground_truth", seed=seed, scale=scale)
    from orchestration.dbt.assets import warehouse_dbt_models
    from orchestration.definitions import defs
    from orchestration.reconciliation.assets import CANDIDATE_SCORES
    from smb_warehouse.reconciliation.tables import CANDIDATES_MODEL

    outputs = build_dbt_asset_selection([warehouse_dbt_models],
                                        dbt_select="kpi_ap_recon__outcomes fct_ap_review_queue dim_supplier dim_product")
    keys = outputs.upstream().required_multi_asset_neighbors().resolve(defs.resolve_asset_graph())
    result = defs.resolve_job_def("warehouse_job").execute_in_process(
        instance=DagsterInstance.ephemeral(), asset_selection=[*keys, AssetKey("published_warehouse")], raise_on_error=False)
    if not result.success:
        raise SystemExit(f"pipeline failed: {[e.message for e in result.all_events if e.is_step_failure]}")
    candidates_key = get_asset_key_for_model([warehouse_dbt_models], CANDIDATES_MODEL)
    figures: dict[str, float | str] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        meta = {k: v.value for k, v in materialization.metadata.items()}
        if materialization.asset_key == CANDIDATE_SCORES:
            figures.update({k: meta[k] for k in ("pairs", "invoices", "pairs_per_invoice", "fit_seconds",
                                                 "scoring_seconds", "serving", "candidate_reused") if k in meta})
        elif materialization.asset_key == candidates_key and "Execution Duration" in meta:
            figures["candidates_dbt_seconds"] = float(meta["Execution Duration"])
    return root / "warehouse" / "warehouse.duckdb", root / "ground_truth", figures


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
        "wrong_match_rate_matchable": (wrong & matchable).sum() / max(matchable.sum(), 1),
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


def _report(scale: float, seed: int, metrics: dict[str, float], per_scenario: pd.DataFrame,
            figures: dict[str, float | str], elapsed: float) -> None:
    print(f"\nAP reconciliation benchmark (scale {scale}, seed {seed}; {metrics['invoices']} invoices; {elapsed:.0f}s)")
    print(per_scenario.to_string())
    print(f"\nauto-match rate (should-match invoices): {metrics['auto_match_rate_matchable']:.2%}   target >= 90%")
    print(f"auto-match rate (all invoices):          {metrics['auto_match_rate_all']:.2%}")
    print(f"wrong-match rate (of auto-matched):      {metrics['wrong_match_rate']:.2%} ({metrics['wrong_matches']})"
          "   target <= 0.5%")
    print(f"wrong-match rate (of should-match):      {metrics['wrong_match_rate_matchable']:.2%}")
    print(f"duplicates flagged:                      {metrics['duplicates_flagged']:.2%}")
    print(f"exception rate:                          {metrics['exception_rate']:.2%}")
    if figures:
        print(f"candidate pairs per invoice:             {figures.get('pairs_per_invoice')} "
              f"({figures.get('pairs')} pairs, {figures.get('invoices')} invoices with candidates)")
        print(f"candidate model (dbt):                   {figures.get('candidates_dbt_seconds', float('nan')):.1f}s")
        print(f"scorer train-or-reuse + gate / scoring:  {figures.get('fit_seconds')}s / {figures.get('scoring_seconds')}s"
              f"  (serving {figures.get('serving')}; reused {figures.get('candidate_reused')})")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.reconciliation", description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, nargs="+", default=[1.0], help="one or more scales, run one after the other")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--warehouse", type=Path, help="evaluate this published warehouse instead of running the pipeline")
    p.add_argument("--truth", type=Path, help="ground-truth folder for --warehouse")
    p.add_argument("--keep", type=Path, help="keep each run's data dir as KEEP/scale-<scale> (default: a temporary dir)")
    args = p.parse_args(argv)
    if args.warehouse:
        metrics, per_scenario = evaluate(args.warehouse, args.truth or args.warehouse.parent.parent / "ground_truth")
        _report(float("nan"), args.seed, metrics, per_scenario, {}, 0.0)
        return 0
    summary = []
    for scale in args.scale:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="recon-bench-") as tmp:
            root = args.keep / f"scale-{scale:g}" if args.keep else Path(tmp)
            warehouse, truth, figures = run_pipeline(root, scale, args.seed)
            metrics, per_scenario = evaluate(warehouse, truth)
        elapsed = time.perf_counter() - started
        _report(scale, args.seed, metrics, per_scenario, figures, elapsed)
        summary.append({"scale": scale, "invoices": metrics["invoices"], "pairs_per_invoice": figures.get("pairs_per_invoice"),
                        "auto_match_matchable": round(metrics["auto_match_rate_matchable"], 4),
                        "wrong_of_auto": round(metrics["wrong_match_rate"], 5),
                        "candidates_dbt_s": round(float(figures.get("candidates_dbt_seconds", float("nan"))), 1),
                        "scorer_s": figures.get("fit_seconds"), "scoring_s": figures.get("scoring_seconds")})
    if len(summary) > 1:
        print("\nby scale:")
        print(pd.DataFrame(summary).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
