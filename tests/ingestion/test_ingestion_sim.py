"""The simulator's landing zone through the real loader: exactly the rows it injected as malformed are
quarantined, at their physical lines, and every other row loads (rows read = loaded + quarantined)."""
from __future__ import annotations

import csv

import duckdb

from smb_warehouse.ingestion.contracts import all_entities
from smb_warehouse.ingestion.loader import load_entity
from sme_sim import generate


def test_exactly_the_injected_rows_are_quarantined(tmp_path):
    landing, truth = tmp_path / "landing", tmp_path / "truth"
    generate(landing, truth, seed=7, scale=0.05)
    con = duckdb.connect()
    results = [load_entity(con, e, landing, "L1") for e in all_entities()]
    with (truth / "malformed_rows.csv").open(newline="") as fh:
        injected = {(r["file"], int(r["line"])) for r in csv.DictReader(fh)}
    quarantined = set(con.execute("SELECT source_file, source_line FROM raw.quarantine").fetchall())
    assert injected and quarantined == injected
    for result in results:
        for f in result.files:
            assert f.status == "loaded" and f.rows_read == f.rows_loaded + f.rows_quarantined > 0, f
