"""Never crash, never silently skip: inputs that stopped the run before (issue 10) give a resolution and a
clear note. Each test states its case as int_er__* rows in a private copy of the dbt-built tiny warehouse
and runs the real resolution (Splink included) and the real table write on it."""
from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from er_inputs import organisation, read_inputs, replace_inputs

from smb_warehouse.entity_resolution import tables
from smb_warehouse.entity_resolution.matching import resolve

EMPTY = {t: pd.DataFrame() for t in ("customer", "supplier", "product")}


def _resolve(db: Path, frames: dict[str, pd.DataFrame], caplog: pytest.LogCaptureFixture):
    con = duckdb.connect(str(db))
    try:
        replace_inputs(con, frames)
        with caplog.at_level(logging.INFO, logger="smb_warehouse.entity_resolution.matching"):
            resolution = resolve(con, "run-robust")
        tables.write(con, resolution)  # the declared tables accept what was produced
        written = con.execute(f"SELECT count(*) FROM {tables.ENTITY_MAP.relation}").fetchone()[0]
    finally:
        con.close()
    assert written == len(resolution.entity_map)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for note in resolution.notes:  # every note reaches the log
        assert note in logged
    return resolution


def _ids(resolution) -> dict[str, str]:
    return dict(zip(resolution.entity_map["record_key"], resolution.entity_map["unified_id"]))


def test_empty_masters_give_an_empty_resolution_and_say_so(er_copy: Path, caplog) -> None:
    resolution = _resolve(er_copy, EMPTY, caplog)
    assert resolution.entity_map.empty and resolution.match_evidence.empty and resolution.review_queue.empty
    assert any("model not run: 0 organisation record(s)" in n for n in resolution.notes)
    assert any("0 catalogue record(s), 0 mention(s)" in n for n in resolution.notes)


def test_no_customer_export_still_resolves_suppliers_and_products(er_copy: Path, caplog) -> None:
    """Issue 10: a landing zone without a customer export stopped the run with KeyError: 'name_core'."""
    inputs = read_inputs(er_copy)
    resolution = _resolve(er_copy, {**inputs, "customer": pd.DataFrame()}, caplog)
    mapped = resolution.entity_map.groupby("entity_type").size().to_dict()
    assert mapped == {"supplier": len(inputs["supplier"]), "product": len(inputs["product"])}
    assert (resolution.match_evidence["entity_type"] == "supplier").any()  # the model still linked suppliers


def test_all_unique_names_without_email_vat_or_website(er_copy: Path, caplog) -> None:
    """Issue 10: such a customer export made the prior probability 0 and stopped the run with
    ValueError: math domain error. Now: no deterministic pair -> a stated default prior, and no merges."""
    rows = [organisation(f"erp:customers:C-{i:05d}", f"firm{i} {w}", street=f"{i} main st", postal_code=f"{10000 + i}",
                         city=f"town{i % 7}", country_code="DE")
            for i, w in enumerate(["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
                                   "juliet", "kilo", "lima", "mike", "november", "oscar", "papa"])]
    resolution = _resolve(er_copy, {**EMPTY, "customer": pd.DataFrame(rows)}, caplog)
    assert resolution.entity_map["unified_id"].nunique() == len(rows)
    notes = "\n".join(resolution.notes)
    assert "lambda: no estimate from the data; default" in notes
    for field in ("email", "company_domain", "vat_core", "phone_e164"):
        assert f"field {field} left out of the model: empty in every record" in notes


def test_a_field_empty_everywhere_is_left_out_and_noted(er_copy: Path, caplog) -> None:
    inputs = read_inputs(er_copy)
    customers = inputs["customer"].assign(phone_e164=None)
    resolution = _resolve(er_copy, {**inputs, "customer": customers, "supplier": inputs["supplier"].assign(phone_e164=None)},
                          caplog)
    assert "field phone_e164 left out of the model: empty in every record" in resolution.notes
    assert "phone" not in resolution.model["parameters"]["comparisons"]
    assert len(resolution.entity_map) == sum(len(f) for f in inputs.values())


def test_a_single_system_dedupes_within_itself(er_copy: Path, caplog) -> None:
    """Only ERP customers: the duplicates the ERP keyed twice (same firm, a variant spelling) are found."""
    erp = read_inputs(er_copy)["customer"].query("source_system == 'erp'")
    base = erp.iloc[0]
    twin = base.copy()
    twin["record_key"], twin["source_id"] = "erp:customers:C-99999", "C-99999"
    twin["display_name"] = base["display_name"].upper()
    resolution = _resolve(er_copy, {**EMPTY, "customer": pd.concat([erp, twin.to_frame().T], ignore_index=True)}, caplog)
    ids = _ids(resolution)
    assert ids[base["record_key"]] == ids["erp:customers:C-99999"]
    # and it does not collapse the rest: one system of mostly distinct firms stays mostly distinct
    assert resolution.entity_map["unified_id"].nunique() >= 0.8 * len(erp)


def test_vat_typo_with_everything_else_equal_is_merged_and_shared_vat_alone_is_not(er_copy: Path, caplog) -> None:
    """A VAT mismatch with all else equal is a typo candidate, not a veto; a VAT id shared by records with
    different names and addresses is evidence, not proof."""
    inputs = read_inputs(er_copy)
    customers = inputs["customer"]
    full = customers[(customers["record_kind"] == "organisation") & customers["vat_core"].str.len().ge(9)
                     & customers["street"].notna() & customers["source_system"].eq("erp")]
    a, b = full.iloc[0], full.iloc[-1]
    typo = a.copy()
    typo["record_key"], typo["source_system"], typo["source_entity"], typo["source_id"] = (
        "crm:accounts:001TYPOTYPO1", "crm", "accounts", "001TYPOTYPO1")
    vat = str(a["vat_core"])
    typo["vat_core"] = vat[:-2] + vat[-1] + vat[-2] if vat[-1] != vat[-2] else vat[:-1] + str((int(vat[-1]) + 1) % 10)
    shared = b.copy()
    shared["record_key"], shared["source_system"], shared["source_entity"], shared["source_id"] = (
        "crm:accounts:001SHAREDVAT", "crm", "accounts", "001SHAREDVAT")
    shared["vat_core"] = a["vat_core"]  # b's own name, address, domain and phone; a's VAT id
    frames = {**inputs, "customer": pd.concat([customers, typo.to_frame().T, shared.to_frame().T], ignore_index=True)}
    resolution = _resolve(er_copy, frames, caplog)
    ids = _ids(resolution)
    assert ids["crm:accounts:001TYPOTYPO1"] == ids[a["record_key"]]
    assert ids["crm:accounts:001SHAREDVAT"] != ids[a["record_key"]]
    assert ids["crm:accounts:001SHAREDVAT"] == ids[b["record_key"]]
