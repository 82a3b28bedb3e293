"""Support-triage benchmark against the simulator's true labels (never used for training).

    python -m benchmarks.triage [--scale 1 --seed 42] [--use-published]

Generates extracts into a temporary folder and runs the whole `warehouse_job` (or, with --use-published,
reads $SMB_DATA_DIR's published warehouse). Prints, against ticket_labels.csv:
  * category / priority accuracy and macro-F1 over all tickets and over the holdout,
  * share auto-triaged and the accuracy on that auto-triaged share,
  * KB retrieval hit-rate: a top-3 article of the ticket's true category (or, for tickets about a product
    with its own article, that product's article).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score

from smb_warehouse.core.dbt_manifest import relation


def evaluate(published: Path, truth_dir: Path) -> dict[str, float]:
    con = duckdb.connect(str(published), read_only=True)
    try:
        routing = con.execute(f"SELECT * FROM {relation('fct_ticket_triage')}").df()
        suggestions = con.execute(f"""
            SELECT r.support_ticket_id, kb.category AS article_category, kb.sku AS article_sku
            FROM {relation('fct_ticket_triage')} r,
                 LATERAL (SELECT unnest([r.kb_article_1, r.kb_article_2, r.kb_article_3]) AS article_id) a
            JOIN {relation('stg_support__kb_articles')} kb ON kb.support_article_id = a.article_id""").df()
    finally:
        con.close()
    truth = pd.read_csv(truth_dir / "ticket_labels.csv", dtype=str)
    products = pd.read_csv(truth_dir / "entities.csv", dtype=str) if (truth_dir / "entities.csv").exists() else None
    df = routing.merge(truth, left_on="support_ticket_id", right_on="ticket_id")
    out: dict[str, float] = {"tickets": len(df)}
    for name, part in (("all", df), ("holdout", df[df["label_split"] == "holdout"]), ("auto_triaged", df[df["is_auto_triaged"]])):
        if part.empty:
            continue
        out[f"{name}_category_accuracy"] = accuracy_score(part["true_category"], part["predicted_category"])
        out[f"{name}_category_macro_f1"] = f1_score(part["true_category"], part["predicted_category"], average="macro")
        out[f"{name}_priority_accuracy"] = accuracy_score(part["true_priority"], part["predicted_priority"])
        out[f"{name}_priority_macro_f1"] = f1_score(part["true_priority"], part["predicted_priority"], average="macro")
    out["share_auto_triaged"] = float(df["is_auto_triaged"].mean())
    desk_labelled = df["source_category"].notna()
    out["desk_label_category_accuracy"] = float((df["source_category"] == df["true_category"])[desk_labelled].mean())
    # a hit: an article of the true category, or the article of the ticket's true product
    sku_of = {}
    if products is not None:
        erp = products[(products["entity_type"] == "product") & (products["system"] == "erp")]
        sku_of = dict(zip(erp["true_entity_id"], erp["source_id"]))
    s = suggestions.merge(truth[["ticket_id", "true_category", "true_sku"]], left_on="support_ticket_id", right_on="ticket_id")
    s["true_sku_code"] = s["true_sku"].map(sku_of)
    same_product = s["article_sku"].notna() & (s["article_sku"] == s["true_sku_code"])
    s["hit"] = (s["article_category"] == s["true_category"]) | same_product
    out["kb_hit_rate_top3"] = float(s.groupby("support_ticket_id")["hit"].any().mean()) if len(s) else 0.0
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--use-published", action="store_true")
    args = parser.parse_args(argv)
    if args.use_published:
        from smb_warehouse.core import paths

        results = evaluate(paths.published_warehouse_path(), paths.data_dir() / "ground_truth")
    else:
        from benchmarks.cashflow import run_pipeline
        from sme_sim import generate

        with tempfile.TemporaryDirectory(prefix="triage_bench_") as tmp:
            root = Path(tmp)
            started = time.perf_counter()
            generate(root / "landing", root / "ground_truth", seed=args.seed, scale=args.scale)
            published, _ = run_pipeline(root, root / "landing", {"SMB_ALERT_WEBHOOK_URL": None, "SMB_ALERT_CHANNEL": "log"})
            print(f"scale {args.scale} seed {args.seed}: generated + warehouse_job in {time.perf_counter() - started:.0f}s")
            results = evaluate(published, root / "ground_truth")
    for key, value in results.items():
        print(f"{key:<36} {value:.3f}" if isinstance(value, float) else f"{key:<36} {value}")


if __name__ == "__main__":
    main()
