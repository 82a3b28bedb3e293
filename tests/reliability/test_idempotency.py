"""Idempotency corners, on a candidate copy of the shared tiny run's published warehouse (its staging views
read the raw tables, so the loader and the published staging SQL are exercised together):
- the same content landed under two names: loaded once, the second recorded as a duplicate;
- a file re-landed with one row changed: the new version wins in staging; under a new name the old version
  stays in raw history; under the same name the old bytes are superseded (rows replaced, the audit keeps
  the old content hash as 'superseded');
- a loaded file deleted from the landing zone: nothing in raw or staging changes, and the audit says the
  source is gone (once)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from smb_warehouse.core.warehouse import Warehouse
from smb_warehouse.ingestion.contracts import all_entities
from smb_warehouse.ingestion.loader import load_entity
from smb_warehouse.ingestion.source_gone import record_missing_sources

CUSTOMERS = next(e for e in all_entities() if (e.system, e.name) == ("erp", "customers"))


@pytest.fixture()
def candidate(tiny_run: dict, tmp_path: Path):
    """(connection to a candidate copy of the shared run's warehouse, a private copy of its landing zone)."""
    landing = tmp_path / "landing"
    shutil.copytree(tiny_run["landing"], landing)
    wh = Warehouse(tmp_path / "warehouse")
    wh.root.mkdir()
    shutil.copyfile(tiny_run["published"], wh.published_path)
    with wh.connect("idempotency") as con:
        yield con, landing
    wh.release("idempotency")


def _files(landing: Path) -> list[Path]:
    return sorted((landing / "erp" / "customers").glob("*.csv"))


def _load(con, landing: Path, load_id: str):
    result = load_entity(con, CUSTOMERS, landing, load_id)
    return {f.source_file.rsplit("/", 1)[1]: f for f in result.files}


def _count(con, sql: str, params=()) -> int:
    return con.execute(sql, list(params)).fetchone()[0]


def test_the_same_content_under_two_names_is_loaded_once_and_the_copy_recorded_as_a_duplicate(candidate):
    con, landing = candidate
    original = _files(landing)[0]
    copy = original.with_name("copy_of_" + original.name)
    shutil.copyfile(original, copy)
    raw_before = _count(con, "SELECT count(*) FROM raw.erp__customers")
    outcome = _load(con, landing, "L-dup")
    assert outcome[copy.name].status == "duplicate"
    assert outcome[original.name].status == "skipped_already_loaded"
    assert _count(con, "SELECT count(*) FROM raw.erp__customers") == raw_before
    audit = con.execute("SELECT status, message FROM raw.load_audit WHERE source_file = ?",
                        [f"erp/customers/{copy.name}"]).fetchall()
    assert audit == [("duplicate", f"same content as erp/customers/{original.name}, which is loaded: skipped")]
    _load(con, landing, "L-dup-again")  # recorded once, not at every run
    assert _count(con, "SELECT count(*) FROM raw.load_audit WHERE source_file = ?", [f"erp/customers/{copy.name}"]) == 1


def _change_one_row(path: Path, target: Path) -> tuple[str, str]:
    """Write ``path`` to ``target`` with the city of its first data row changed; (customer_id, new city)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    fields = lines[1].split(",")
    city = header.index("city")
    fields[city] = "Neustadt-Changed"
    target.write_text("\n".join([lines[0], ",".join(fields)] + lines[2:]) + "\n", encoding="utf-8")
    return fields[header.index("customer_id")], fields[city]


def _versions(con, customer_id: str) -> list[tuple[str, str]]:
    return con.execute("SELECT _source_file, city FROM raw.erp__customers WHERE customer_id = ? "
                       "ORDER BY _loaded_at, _source_file", [customer_id]).fetchall()


def _staging_city(con, customer_id: str) -> str:
    return con.execute("SELECT city FROM staging.stg_erp__customers WHERE erp_customer_id = ?", [customer_id]).fetchone()[0]


def test_a_relanded_file_with_one_row_changed_under_a_new_name_wins_in_staging_and_keeps_the_old_in_raw(candidate):
    con, landing = candidate
    original = _files(landing)[-1]
    relanded = original.with_name(original.stem + "_resent.csv")
    customer, city = _change_one_row(original, relanded)
    before = _versions(con, customer)
    assert _staging_city(con, customer) != city
    assert _load(con, landing, "L-resent")[relanded.name].status == "loaded"
    after = _versions(con, customer)
    assert after[:len(before)] == before and after[-1] == (f"erp/customers/{relanded.name}", city)  # history kept
    assert _staging_city(con, customer) == city  # the new version wins


def test_a_relanded_file_with_one_row_changed_under_the_same_name_supersedes_the_old_bytes(candidate):
    con, landing = candidate
    original = _files(landing)[-1]
    rel = f"erp/customers/{original.name}"
    old_sha, old_rows = con.execute("SELECT content_sha256, rows_loaded FROM raw.load_audit WHERE source_file = ? "
                                    "AND status = 'loaded'", [rel]).fetchone()
    customer, city = _change_one_row(original, original)
    outcome = _load(con, landing, "L-same-name")
    assert outcome[original.name].status == "loaded" and outcome[original.name].superseded
    assert _staging_city(con, customer) == city
    statuses = con.execute("SELECT status, content_sha256 = ? FROM raw.load_audit WHERE source_file = ? ORDER BY finished_at",
                           [old_sha, rel]).fetchall()
    assert statuses == [("superseded", True), ("loaded", False)]  # the old content stays on record
    assert _count(con, "SELECT count(*) FROM raw.erp__customers WHERE _source_file = ?", [rel]) == old_rows
    assert _count(con, "SELECT count(*) FROM raw.erp__customers WHERE _source_file = ? AND city = ?", [rel, city]) == 1


def test_a_loaded_file_deleted_from_the_landing_zone_changes_nothing_and_is_audited_once(candidate):
    con, landing = candidate
    doomed = _files(landing)[0]
    rel = f"erp/customers/{doomed.name}"
    snapshot = "SELECT count(*), count(DISTINCT _source_file), sum(hash(customer_id, city, email)) FROM raw.erp__customers"
    staging = "SELECT count(*), sum(hash(erp_customer_id, city, email)) FROM staging.stg_erp__customers"
    raw_before = con.execute(snapshot).fetchone()
    staging_before = con.execute(staging).fetchone()
    doomed.unlink()
    _load(con, landing, "L-gone")
    assert record_missing_sources(con, CUSTOMERS, landing, "L-gone") == [rel]
    assert con.execute(snapshot).fetchone() == raw_before
    assert con.execute(staging).fetchone() == staging_before
    audit = con.execute("SELECT status, message FROM raw.load_audit WHERE source_file = ? ORDER BY finished_at", [rel]).fetchall()
    assert audit[0][0] == "loaded" and audit[-1][0] == "source_missing" and "no longer in the landing zone" in audit[-1][1]
    assert record_missing_sources(con, CUSTOMERS, landing, "L-gone-again") == []  # said once
