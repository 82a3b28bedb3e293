"""Loader speed against DuckDB's own: `python -m benchmarks.loader [--scale 20]`.

Generates (or reuses) extracts, then for the biggest entities loads the same files twice: once with
the contract-driven loader (hash, stage, validate, quarantine, audit) and once with a bare
`CREATE TABLE AS SELECT * FROM read_csv(...)`, the floor any loader on DuckDB can reach. Prints rows/s,
the ratio, and peak memory. A figure, not a test: nothing here asserts.
"""
from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import duckdb

from smb_warehouse.ingestion.contracts import Entity, load_contracts
from smb_warehouse.ingestion.loader import ensure_ingestion_tables, entity_files, load_entity

ENTITIES = [("erp", "sales_order_lines"), ("erp", "sales_orders"), ("finance", "bank_transactions"), ("support", "tickets")]


def _bare_duckdb_seconds(entity: Entity, files: list[Path], db: Path) -> float:
    con = duckdb.connect(str(db))
    fmt = entity.format
    paths = [str(f) for f in files]
    reader = (f"read_csv({paths}, delim={fmt.delimiter!r}, header=true, all_varchar=true, union_by_name=true, ignore_errors=true)"
              if fmt.type == "csv" else f"read_json({paths}, format='newline_delimited', ignore_errors=true)")
    start = time.perf_counter()
    con.execute(f"CREATE OR REPLACE TABLE bare AS SELECT * FROM {reader}")
    seconds = time.perf_counter() - start
    con.close()
    return seconds


def run(landing: Path, workdir: Path) -> None:
    contracts = load_contracts()
    print(f"{'entity':<28}{'rows':>11}{'loader s':>10}{'duckdb s':>10}{'loader rows/s':>15}{'ratio':>8}")
    for system, name in ENTITIES:
        entity = contracts[system].entities[name]
        files = entity_files(entity, landing)
        con = duckdb.connect(str(workdir / f"{system}_{name}.duckdb"))
        ensure_ingestion_tables(con)
        start = time.perf_counter()
        result = load_entity(con, entity, landing, load_id="bench")
        loader_s = time.perf_counter() - start
        con.close()
        bare_s = _bare_duckdb_seconds(entity, files, workdir / f"bare_{system}_{name}.duckdb")
        rows = result.rows_read
        print(f"{system + '/' + name:<28}{rows:>11,}{loader_s:>10.2f}{bare_s:>10.2f}{rows / loader_s:>15,.0f}{loader_s / bare_s:>7.1f}x")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak_mib:,.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--landing", type=Path, help="use existing extracts instead of generating")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="loader-bench-") as tmp:
        landing = args.landing
        if landing is None:
            from sme_sim import generate

            landing = Path(tmp) / "landing"
            start = time.perf_counter()
            generate(landing, Path(tmp) / "truth", seed=args.seed, scale=args.scale)
            print(f"generated scale {args.scale} in {time.perf_counter() - start:.1f}s")
        run(landing, Path(tmp))


if __name__ == "__main__":
    main()
