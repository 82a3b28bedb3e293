"""Compare the public marts of the same project built on two engines, row for row, inside DuckDB.

Both sides are read by one DuckDB connection (the DuckDB warehouse file attached read-only, PostgreSQL
through DuckDB's ``postgres`` extension, Spark's output as Parquet), so every value is turned into text by
the same code. Each row becomes one normalised text: every column in the relation's column order, cast to
VARCHAR, with DOUBLE/FLOAT values first rounded to ``SIGNIFICANT_DIGITS`` (12) significant digits, and
magnitudes below ``ZERO_BELOW`` (1e-9) and -0 made 0 (the tolerance macros/cross_db/README.md states:
engines compute ``ln``, ``stddev_samp``, averages and medians of doubles differently in the last bits,
and a difference of sums that should be 0 comes out as a few 1e-13 on one engine and 0 on another).
Column names and type families (integer, decimal(scale), float, text, boolean, date, timestamp, other)
must match. Per relation that gives

- ``rows``: row count per side;
- ``checksum``: sum over rows of DuckDB's 64-bit ``hash()`` of the normalised text, modulo 2**64: the
  same for the same multiset of rows whatever their order (a checksum of the sorted rows without sorting);
- ``only_left`` / ``only_right``: rows in one side and not the other (EXCEPT ALL, so duplicates count).

Two relations are equal when their column names match in order and both differences are empty.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from smb_warehouse.core import paths
from smb_warehouse.core.sql import ident

SIGNIFICANT_DIGITS = 12
ZERO_BELOW = 1e-9
_FLOATS = ("DOUBLE", "FLOAT", "REAL")
_INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
             "UBIGINT", "UHUGEINT")


@dataclass(frozen=True)
class RelationComparison:
    """One relation on two sides: row counts, order-independent checksums, rows only on either side."""
    relation: str
    rows_left: int
    rows_right: int
    checksum_left: int
    checksum_right: int
    only_left: int
    only_right: int
    columns_match: bool = True
    error: str | None = None

    @property
    def equal(self) -> bool:
        return self.error is None and self.columns_match and self.only_left == 0 and self.only_right == 0


def _columns(con: duckdb.DuckDBPyConnection, relation_sql: str) -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in con.execute(f"DESCRIBE SELECT * FROM {relation_sql}").fetchall()]


def type_family(duckdb_type: str) -> str:
    """The family a column type is compared by across engines: integer, decimal(<scale>), float, text,
    boolean, date, timestamp, or the type itself (PostgreSQL's json reads as VARCHAR through DuckDB)."""
    kind = duckdb_type.upper()
    if kind in _INTEGERS:
        return "integer"
    if kind.startswith("DECIMAL"):
        return f"decimal({kind.rstrip(')').split(',')[-1].strip()})"
    if kind in _FLOATS:
        return "float"
    if kind in ("VARCHAR", "JSON"):
        return "text"
    if kind.startswith("TIMESTAMP"):
        return "timestamp"
    return kind.lower()


def normalised_rows_sql(con: duckdb.DuckDBPyConnection, relation_sql: str) -> tuple[str, list[tuple[str, str]]]:
    """SQL selecting one VARCHAR column ``r`` per row of ``relation_sql`` (normalised as the module says),
    and the relation's (column name, type family) in order."""
    parts, columns = [], []
    for name, kind in _columns(con, relation_sql):
        column = ident(name)
        if kind.upper() == "TIMESTAMP WITH TIME ZONE":  # Parquet written UTC-adjusted (Spark) reads as this
            parts.append(f"CAST(timezone('UTC', {column}) AS VARCHAR)")
        elif kind.upper() in _FLOATS:
            x = f"CAST({column} AS DOUBLE)"
            digits = f"CAST({SIGNIFICANT_DIGITS - 1} - floor(log10(abs({x}))) AS INTEGER)"
            parts.append(f"CAST(CASE WHEN NOT isfinite({x}) THEN {x} WHEN abs({x}) < {ZERO_BELOW!r} THEN 0.0 "
                         f"ELSE round({x}, {digits}) END AS VARCHAR)")
        else:
            parts.append(f"CAST({column} AS VARCHAR)")
        columns.append((name, type_family(kind)))
    return f"SELECT CAST(list_value({', '.join(parts)}) AS VARCHAR) AS r FROM {relation_sql}", columns


def compare_relation(con: duckdb.DuckDBPyConnection, relation: str, left_sql: str, right_sql: str) -> RelationComparison:
    """Compare ``left_sql`` and ``right_sql`` (relation expressions DuckDB can read, e.g. ``pg.marts.x``)."""
    try:
        left, left_names = normalised_rows_sql(con, left_sql)
        right, right_names = normalised_rows_sql(con, right_sql)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _cmp_left AS {left}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE _cmp_right AS {right}")
        stats = "SELECT count(*), CAST(coalesce(sum(CAST(hash(r) AS HUGEINT)), 0) % 18446744073709551616 AS UBIGINT) FROM "
        rows_l, sum_l = con.execute(stats + "_cmp_left").fetchone()
        rows_r, sum_r = con.execute(stats + "_cmp_right").fetchone()
        (only_l,) = con.execute("SELECT count(*) FROM (SELECT r FROM _cmp_left EXCEPT ALL SELECT r FROM _cmp_right)").fetchone()
        (only_r,) = con.execute("SELECT count(*) FROM (SELECT r FROM _cmp_right EXCEPT ALL SELECT r FROM _cmp_left)").fetchone()
        return RelationComparison(relation, rows_l, rows_r, int(sum_l), int(sum_r), only_l, only_r,
                                  columns_match=left_names == right_names)
    except duckdb.Error as exc:
        return RelationComparison(relation, -1, -1, 0, 0, -1, -1, error=str(exc).splitlines()[0])
    finally:
        con.execute("DROP TABLE IF EXISTS _cmp_left; DROP TABLE IF EXISTS _cmp_right")


def compare_relations(con: duckdb.DuckDBPyConnection, relations: list[str], left: Callable[[str], str],
                      right: Callable[[str], str]) -> list[RelationComparison]:
    """Compare every ``"<schema>.<name>"`` in ``relations``; ``left``/``right`` map it to SQL on each side."""
    return [compare_relation(con, rel, left(rel), right(rel)) for rel in relations]


def format_report(results: list[RelationComparison], left_name: str, right_name: str) -> str:
    """A fixed-width table: relation, rows per side, checksums, differing rows; a last line with the verdict."""
    lines = [f"{'relation':48} {left_name + ' rows':>14} {right_name + ' rows':>14} {'checksum ' + left_name:>22} "
             f"{'checksum ' + right_name:>22}  diff"]
    for r in results:
        if r.error:
            lines.append(f"{r.relation:48} ERROR {r.error}")
            continue
        diff = "equal" if r.equal else (f"{r.only_left} only {left_name}, {r.only_right} only {right_name}"
                                         + ("" if r.columns_match else ", column names or types differ"))
        lines.append(f"{r.relation:48} {r.rows_left:>14} {r.rows_right:>14} {r.checksum_left:>22} {r.checksum_right:>22}  {diff}")
    bad = [r.relation for r in results if not r.equal]
    lines.append(f"{len(results) - len(bad)} of {len(results)} relations equal (doubles to {SIGNIFICANT_DIGITS} "
                 f"significant digits, below {ZERO_BELOW:g} as 0)"
                 + (f"; differ: {', '.join(bad)}" if bad else ""))
    return "\n".join(lines)


def rebuild_on_duckdb(source: Path, work: Path, select: Sequence[str] = (), env: Mapping[str, str] | None = None,
                      timeout: float | None = None) -> tuple[Path, float]:
    """Copy the DuckDB warehouse ``source`` to ``work/warehouse.duckdb`` and run dbt on the copy: ``dbt build`` of
    the whole project, or ``dbt run --select <select>`` of a few models; the DuckDB side of an engine comparison,
    built by dbt alone from the same inputs the other engine read. The copy keeps the file name
    ``warehouse.duckdb`` (dbt-duckdb names the catalog after the file's stem, and the compiled SQL names it).
    dbt runs with ``env`` (default: this process's environment), which must give the PII key of ``source``'s
    installation (SMB_PII_HASH_KEY or SMB_DATA_DIR: smb_warehouse/core/pii.py) for pseudonyms to match.

    Returns (the built file, dbt's wall seconds). Raises ``RuntimeError`` with the end of dbt's output when dbt
    fails, ``subprocess.TimeoutExpired`` after ``timeout`` seconds (default: none); ``work`` must not hold a warehouse yet
    (``FileExistsError``)."""
    work.mkdir(parents=True, exist_ok=True)
    db = work / "warehouse.duckdb"
    if db.exists():
        raise FileExistsError(f"{db} exists: rebuild into an empty folder")
    shutil.copyfile(source, db)
    command = ["run", "--select", *select] if select else ["build"]
    started = time.perf_counter()
    proc = subprocess.run([str(Path(sys.executable).with_name("dbt")), *command, "--project-dir", str(paths.DBT_PROJECT_DIR),
                           "--profiles-dir", str(paths.DBT_PROJECT_DIR), "--target-path", str(work / "target"),
                           "--log-path", str(work / "logs"), "--no-use-colors"],
                          cwd=paths.DBT_PROJECT_DIR, env={**(os.environ if env is None else env), "DBT_DUCKDB_PATH": str(db),
                                                "DBT_TARGET": "duckdb"},
                          capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"dbt {' '.join(command)} on DuckDB ({db}) failed:\n" + proc.stdout[-4000:]
                           + proc.stderr[-2000:])
    return db, seconds
