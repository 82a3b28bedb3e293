"""Entity-resolution benchmark: pairwise precision / recall / F1 per entity type against ground truth.

    python -m benchmarks.entity_resolution [--scale 1 --seed 42] [--use-published]

Generates extracts with sme_sim into a temporary folder, loads the raw tables it needs, builds the
int_er__* models with dbt, runs the resolution (orchestration/entity_resolution) and compares.
With --use-published it instead reads $SMB_DATA_DIR's published warehouse and ground truth.

Pairs are pairs of ground-truth source rows (tickets count once per ticket, as the truth lists them)
in the same true entity vs. the same unified id. "records" repeats the measure on distinct resolution
records (one per support e-mail / mention), which does not reward many tickets of one requester.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from smb_warehouse.core import paths
from smb_warehouse.core.dbt_manifest import relation
from smb_warehouse.entity_resolution.matching import Resolution, resolve

# ground truth (system, source_entity) -> how its source_id becomes our record_key
_DIRECT = {("erp", "customers"): "erp:customers:", ("crm", "accounts"): "crm:accounts:", ("crm", "contacts"): "crm:contacts:",
           ("finance", "ar_invoices"): "finance:debtors:", ("erp", "suppliers"): "erp:suppliers:",
           ("finance", "ap_invoices"): "finance:vendors:", ("erp", "products"): "erp:products:"}


@dataclass(frozen=True)
class Score:
    entity_type: str
    level: str
    items: int
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def truth_with_record_keys(con: duckdb.DuckDBPyConnection, truth_dir: Path) -> pd.DataFrame:
    """entities.csv with the record_key each truth row resolves through (NULL when not in the warehouse)."""
    truth = pd.read_csv(truth_dir / "entities.csv", dtype=str)
    tickets = con.execute(
        "SELECT support_ticket_id, customer_email, lower(product_mentioned) AS mention "
        f"FROM {relation('stg_support__tickets')}"
    ).df().set_index("support_ticket_id")
    keys = []
    for row in truth.itertuples(index=False):
        prefix = _DIRECT.get((row.system, row.source_entity))
        if prefix:
            keys.append(prefix + row.source_id)
        elif row.system == "support" and row.source_id in tickets.index:
            value = tickets.at[row.source_id, "customer_email" if row.entity_type == "customer" else "mention"]
            source = "support:requesters:" if row.entity_type == "customer" else "support:product_mentions:"
            keys.append(source + value if isinstance(value, str) else None)
        else:
            keys.append(None)
    truth["record_key"] = keys
    return truth


def _pairs(sizes: pd.Series) -> int:
    return int((sizes * (sizes - 1) // 2).sum())


def score(truth: pd.DataFrame, entity_map: pd.DataFrame) -> list[Score]:
    joined = truth.merge(entity_map[["entity_type", "record_key", "unified_id"]], on=["entity_type", "record_key"])
    out = []
    for entity_type, rows in sorted(joined.groupby("entity_type")):
        for level, items in (("source_rows", rows), ("records", rows.drop_duplicates("record_key"))):
            out.append(Score(entity_type, level, len(items), _pairs(items.groupby("true_entity_id").size()),
                             _pairs(items.groupby("unified_id").size()),
                             _pairs(items.groupby(["true_entity_id", "unified_id"]).size())))
    return out


def coverage(truth: pd.DataFrame, entity_map: pd.DataFrame) -> dict[str, str]:
    known = set(zip(entity_map["entity_type"], entity_map["record_key"]))
    hit = [(t, k) in known for t, k in zip(truth["entity_type"], truth["record_key"])]
    cov = truth.assign(hit=hit).groupby("entity_type")["hit"].agg(["sum", "count"])
    return {t: f"{int(r['sum'])}/{int(r['count'])}" for t, r in cov.iterrows()}


def run(db: Path, truth_dir: Path, run_id: str = "benchmark") -> tuple[Resolution, list[Score], float, dict[str, str]]:
    con = duckdb.connect(str(db))
    try:
        started = time.perf_counter()
        resolution = resolve(con, run_id)
        seconds = time.perf_counter() - started
        truth = truth_with_record_keys(con, truth_dir)
    finally:
        con.close()
    return resolution, score(truth, resolution.entity_map), seconds, coverage(truth, resolution.entity_map)


def report(scores: list[Score], seconds: float, cover: dict[str, str], prep_seconds: float | None = None,
           resolution: Resolution | None = None) -> str:
    lines = [f"{'entity_type':<10} {'level':<12} {'items':>6} {'true':>7} {'pred':>7} {'P':>7} {'R':>7} {'F1':>7}"]
    for s in scores:
        lines.append(f"{s.entity_type:<10} {s.level:<12} {s.items:>6} {s.true_pairs:>7} {s.predicted_pairs:>7} "
                     f"{s.precision:>7.4f} {s.recall:>7.4f} {s.f1:>7.4f}")
    lines.append(f"truth rows found in the warehouse: {cover}")
    if resolution is not None:
        deciders = resolution.match_evidence.groupby(["entity_type", "decided_by"]).size()
        lines.append("accepted pairs by decider: " + ", ".join(f"{t}/{d}={n}" for (t, d), n in deciders.items()))
        lines.append(f"review queue: {resolution.review_queue['entity_type'].value_counts().to_dict()}")
    if prep_seconds is not None:
        lines.append(f"data generation + load + dbt: {prep_seconds:.1f}s")
    lines.append(f"resolution (rules + Splink + ids): {seconds:.1f}s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.entity_resolution")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--use-published", action="store_true", help="read $SMB_DATA_DIR's published warehouse")
    args = parser.parse_args(argv)

    if args.use_published:
        with tempfile.TemporaryDirectory(prefix="er-bench-") as tmp:
            db = Path(tmp) / "copy.duckdb"  # resolve writes nothing, but never touch the published file
            shutil.copyfile(paths.published_warehouse_path(), db)
            resolution, scores, seconds, cover = run(db, paths.ground_truth_dir())
            print(report(scores, seconds, cover, resolution=resolution))
        return 0

    from benchmarks.er_warehouse import build
    from sme_sim import generate

    with tempfile.TemporaryDirectory(prefix="er-bench-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        generate(root / "landing", root / "truth", seed=args.seed, scale=args.scale)
        db = build(root / "warehouse.duckdb", root / "landing")
        prep = time.perf_counter() - started
        resolution, scores, seconds, cover = run(db, root / "truth")
        print(f"scale={args.scale} seed={args.seed}")
        print(report(scores, seconds, cover, prep, resolution))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
