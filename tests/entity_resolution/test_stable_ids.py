"""Unified ids survive re-runs, new records and splits."""
from __future__ import annotations

from pathlib import Path

import duckdb

from smb_warehouse.entity_resolution import tables
from smb_warehouse.entity_resolution.matching import resolve
from smb_warehouse.entity_resolution.stable_ids import assign_ids


def _ids(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("SELECT record_key, unified_id FROM entity_resolution.entity_map").fetchall())


def test_second_run_on_same_data_gives_same_map(er_copy: Path) -> None:
    con = duckdb.connect(str(er_copy))
    try:
        tables.write(con, resolve(con, "run-1"))
        first = _ids(con)
        tables.write(con, resolve(con, "run-2"))
        second = _ids(con)
        runs = con.execute("SELECT DISTINCT er_run_id FROM entity_resolution.entity_map").fetchall()
    finally:
        con.close()
    assert first == second
    assert runs == [("run-2",)]


def test_record_new_to_the_map_joins_its_cluster_id_and_nothing_else_moves(er_copy: Path) -> None:
    con = duckdb.connect(str(er_copy))
    try:
        tables.write(con, resolve(con, "run-1"))
        before = _ids(con)
        # pick a record whose cluster has other members, and pretend the last run never saw it
        newcomer = con.execute(
            "SELECT record_key FROM entity_resolution.entity_map WHERE entity_type = 'customer' AND unified_id IN "
            "(SELECT unified_id FROM entity_resolution.entity_map GROUP BY 1 HAVING count(*) > 2) ORDER BY 1 LIMIT 1"
        ).fetchone()[0]
        con.execute("DELETE FROM entity_resolution.entity_map WHERE record_key = ?", [newcomer])
        tables.write(con, resolve(con, "run-2"))
        after = _ids(con)
    finally:
        con.close()
    assert after == before


def test_assign_ids_rules() -> None:
    previous = {"a": "CUS-000001", "b": "CUS-000001", "c": "CUS-000001", "d": "CUS-000002", "x": "CUS-000007"}
    # c split away from a+b; d merged with a brand-new record e; f is new on its own
    clusters = {"a": "A", "b": "A", "c": "C", "d": "D", "e": "D", "f": "F"}
    ids = assign_ids(clusters, previous, "CUS")
    assert ids["a"] == ids["b"] == "CUS-000001"      # the larger part keeps the id
    assert ids["d"] == ids["e"] == "CUS-000002"      # a newcomer takes its cluster's id
    assert ids["c"] == "CUS-000008" and ids["f"] == "CUS-000009"  # next free numbers, never reused
    assert assign_ids(clusters, previous, "CUS") == ids  # deterministic
    # most common old id wins when a cluster merges two old ones
    merged = assign_ids({"a": "M", "b": "M", "d": "M"}, previous, "CUS")
    assert set(merged.values()) == {"CUS-000001"}
