"""`python -m sme_sim generate [--out DIR] [--truth DIR] [--seed 42] [--scale 1.0]
[--scenario stable|regime_change|regime_drop] [--start-date YYYY-01-01] [--force] [--verbose]`"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

from smb_warehouse.core.paths import ground_truth_dir, landing_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sme_sim", description="Simulated SME source systems + ground truth.")
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate", help="write landing extracts and ground truth")
    g.add_argument("--out", type=Path, default=None, help="landing dir (default: $SMB_LANDING_DIR or data/landing)")
    g.add_argument("--truth", type=Path, default=None,
                   help="ground-truth dir (default: $SMB_GROUND_TRUTH_DIR or data/ground_truth)")
    g.add_argument("--seed", type=int, default=42)
    g.add_argument("--scale", type=float, default=1.0)
    g.add_argument("--scenario", choices=["stable", "regime_change", "regime_drop"], default="stable")
    g.add_argument("--force", action="store_true", help="regenerate even if a matching generation exists")
    g.add_argument("--verbose", action="store_true", help="print the rows written per entity")
    g.add_argument("--start-date", type=dt.date.fromisoformat, default=None,
                   help="first simulated day, a January 1st (default 2024-01-01)")
    args = parser.parse_args(argv)

    from sme_sim.pipeline import generate

    out = (args.out or landing_dir()).resolve()
    truth = (args.truth or ground_truth_dir()).resolve()
    t0 = time.perf_counter()
    man = generate(out, truth, seed=args.seed, scale=args.scale, scenario=args.scenario, force=args.force,
                   start_date=args.start_date)
    if man.get("skipped"):
        print(f"sme_sim: data already generated with {json.dumps(man['parameters'])} in {out} (use --force to regenerate)")
        return 0
    total = sum(man["row_counts"].values())
    print(f"sme_sim: wrote {len(man['files'])} files, {total} landing rows to {out} "
          f"(truth: {truth}) in {time.perf_counter() - t0:.1f}s; rows per entity: --verbose or {truth / 'manifest.json'}")
    if args.verbose:
        for entity, rows in man["row_counts"].items():
            print(f"  {entity:40s} {rows:>10d}")
    return 0
