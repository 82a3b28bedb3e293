"""Data the method was never built on: the public FEBRL records mapped into ERP customer and CRM account
exports (benchmarks/febrl.py), through the real loader, dbt models and resolution. The floor sits well
below the benchmark's target (F1 >= 0.95 and within 0.01 of Splink configured directly)."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from benchmarks import febrl
from benchmarks.entity_resolution import pair_score
from smb_warehouse.entity_resolution.matching import resolve

F1_FLOOR = 0.9
DATASET = febrl.FEBRL_DIR / "dataset1.csv"


@pytest.fixture(scope="module")
def febrl_warehouse(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    if not DATASET.exists():
        pytest.skip(f"FEBRL file not available at {DATASET}")
    from benchmarks.er_warehouse import build

    root = tmp_path_factory.mktemp("febrl")
    truth = febrl.to_landing(febrl.read(DATASET), root / "landing")
    return build(root / "warehouse.duckdb", root / "landing"), truth


def test_febrl_mapping_follows_the_rec_id_convention(tmp_path: Path) -> None:
    if not DATASET.exists():
        pytest.skip(f"FEBRL file not available at {DATASET}")
    data = febrl.read(DATASET)
    truth = febrl.to_landing(data, tmp_path)
    assert len(truth) == len(data) == truth["record_key"].nunique()
    assert truth.groupby("entity").size().max() == 2  # dataset1: one duplicate per original
    systems = truth["record_key"].str.split(":").str[0].value_counts()
    assert set(systems.index) == {"erp", "crm"} and systems.min() > 0.4 * len(truth)
    # originals and duplicates of one entity land in both systems and in one system
    per_entity = truth.assign(system=truth["record_key"].str.split(":").str[0]).groupby("entity")["system"].nunique()
    assert (per_entity == 1).any() and (per_entity == 2).any()


def test_febrl_resolution_above_floor_and_noted(febrl_warehouse) -> None:
    db, truth = febrl_warehouse
    con = duckdb.connect(str(db))
    try:
        resolution = resolve(con, "febrl-test")
    finally:
        con.close()
    items = truth.merge(resolution.entity_map[["record_key", "unified_id"]], on="record_key", how="left")
    assert items["unified_id"].notna().all()
    score = pair_score(items, "customer", "records", "entity", "unified_id")
    assert score.f1 >= F1_FLOOR, f"P={score.precision:.3f} R={score.recall:.3f} F1={score.f1:.3f}"
    # the model was estimated on this data: these exports have no e-mail, phone or website, and one country
    notes = "\n".join(resolution.notes)
    assert "field email left out of the model: empty in every record" in notes
    assert "field country_code left out of the model: the same value in every record" in notes
    assert resolution.model["parameters"]["lambda_source"] == "deterministic_rules"
    postcode = resolution.model["parameters"]["comparisons"]["locality"][0]
    assert postcode["m"] > 0.5  # issue 10: EM had put m('postcode equal') at 0.022; ~0.8 of true pairs share it
