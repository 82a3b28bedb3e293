"""Loader speed against DuckDB's own: `python -m benchmarks.loader [--scales 5 20] [--repeat 3]`.

For each scale it generates a landing zone (sme_sim, in a temp folder), then for the biggest entities
loads the same files, alternately and ``--repeat`` times each, two ways into fresh DuckDB files:

* the loader (discovery, hashing, whole-file checks, one read, validation, quarantine, audit, one
  transaction), and
* the *typed floor*: ``CREATE TABLE AS SELECT * FROM read_csv/read_json(<same files>)`` with the
  contract's column types, the least any loader on DuckDB has to do to get typed rows into a table.

Prints the median seconds of both and their ratio per entity and scale, side by side, and the peak
memory. A figure, not a test: nothing here asserts. Targets (issue 9): ratio <= 1.5 (goal 1.25) and not
growing with scale.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

from smb_warehouse.ingestion.contracts import Entity, load_contracts
from smb_warehouse.ingestion.loader import ensure_ingestion_tables, entity_files, load_entity

ENTITIES = [("erp", "sales_order_lines"), ("finance", "bank_transactions"), ("support", "tickets")]
_FLOOR_TYPES = {"string": "VARCHAR", "integer": "BIGINT", "date": "DATE", "timestamp": "TIMESTAMP",
                "boolean": "BOOLEAN"}


def typed_floor_sql(entity: Entity, files: list[Path]) -> str:
    """The typed DuckDB read of ``files`` with the contract's column types (malformed rows skipped)."""
    fmt = entity.format
    paths = [str(f) for f in files]
    types = {c.name: c.raw_type if c.type == "decimal" else _FLOOR_TYPES[c.type] for c in entity.columns}
    if fmt.type == "csv":
        return (f"read_csv({paths}, columns={types}, header=true, delim={fmt.delimiter!r}, auto_detect=false, "
                f"dateformat={fmt.date_formats[0]!r}, decimal_separator={fmt.decimal_separator!r}, ignore_errors=true)")
    types = {k: ("TIMESTAMPTZ" if v == "TIMESTAMP" else v) for k, v in types.items()}
    return f"read_json({paths}, format='newline_delimited', columns={types}, ignore_errors=true)"


def _floor_seconds(entity: Entity, files: list[Path], db: Path) -> float:
    con = duckdb.connect(str(db))
    start = time.perf_counter()
    con.execute(f"CREATE TABLE floor AS SELECT * FROM {typed_floor_sql(entity, files)}")
    seconds = time.perf_counter() - start
    con.close()
    return seconds


def _loader_seconds(entity: Entity, landing: Path, db: Path) -> tuple[float, int]:
    con = duckdb.connect(str(db))
    ensure_ingestion_tables(con, [entity])
    start = time.perf_counter()
    result = load_entity(con, entity, landing, load_id="bench")
    seconds = time.perf_counter() - start
    con.close()
    return seconds, result.rows_read


def run(landing: Path, workdir: Path, scale: float, repeat: int) -> list[tuple]:
    contracts = load_contracts()
    rows = []
    for system, name in ENTITIES:
        entity = contracts[system].entities[name]
        files = entity_files(entity, landing)
        loader, floor, n = [], [], 0
        for i in range(repeat):
            for db in workdir.glob("*.duckdb*"):
                db.unlink()
            floor.append(_floor_seconds(entity, files, workdir / f"floor_{i}.duckdb"))
            seconds, n = _loader_seconds(entity, landing, workdir / f"loader_{i}.duckdb")
            loader.append(seconds)
        lo, fl = statistics.median(loader), statistics.median(floor)
        rows.append((scale, f"{system}/{name}", len(files), n, lo, fl, lo / fl))
        print(f"{scale:>6g} {system + '/' + name:<28}{len(files):>6}{n:>11,}{lo:>10.2f}{fl:>10.2f}{lo / fl:>8.2f}x",
              flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", type=float, nargs="+", default=[5.0, 20.0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--landing", type=Path, help="use existing extracts (one scale) instead of generating")
    args = parser.parse_args()
    print(f"{'scale':>6} {'entity':<28}{'files':>6}{'rows':>11}{'loader s':>10}{'typed s':>10}{'ratio':>9}")
    with tempfile.TemporaryDirectory(prefix="loader-bench-") as tmp:
        for scale in ([0] if args.landing else args.scales):
            landing = args.landing
            if landing is None:
                from sme_sim import generate

                landing = Path(tmp) / f"landing_{scale:g}"
                generate(landing, Path(tmp) / f"truth_{scale:g}", seed=args.seed, scale=scale)
            work = Path(tmp) / f"work_{scale:g}"
            work.mkdir()
            run(landing, work, scale, args.repeat)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"ratio = loader time / typed DuckDB read of the same files into a table (median of {args.repeat}); "
          f"peak RSS {peak_mib:,.0f} MiB")


if __name__ == "__main__":
    main()
