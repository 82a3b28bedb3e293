"""Erasure of one data subject on a copy of the shared tiny run: afterwards none of the subject's values
(e-mails, phones, IBANs, names, streets, ticket texts) is anywhere in the published warehouse (every
schema), the BI copy, the kept publishes or the review store; the log holds keyed hashes only and is
append-only; and the next load of a file that still carries the subject is redacted on the way in."""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance

from orchestration.ingestion.audit import AUDIT_KEY, QUARANTINE_KEY
from orchestration.privacy.erasure import erase, normalize, resolve
from orchestration.privacy.scan import is_organisation_name
from smb_warehouse.core import erasure, pii
from smb_warehouse.core.warehouse import Warehouse
from smb_warehouse.ingestion.contracts import all_entities
from smb_warehouse.reconciliation import decisions
from tests.support import clone_run, environment, query, run_env, step_failures


def _pick_subject(published: Path) -> str:
    """An e-mail address of a customer whose name may be a person's, that more than one system holds."""
    rows = query(published, """
        WITH emails AS (
            SELECT lower(email) AS e, customer_name AS n, 'erp' AS s FROM raw.erp__customers
            UNION ALL SELECT lower(email), NULL, 'crm' FROM raw.crm__contacts
            UNION ALL SELECT lower(customer_email), NULL, 'support' FROM raw.support__tickets
            UNION ALL SELECT lower(debtor_email), NULL, 'finance' FROM raw.finance__ar_invoices)
        SELECT e, max(n), count(DISTINCT s) AS systems, count(*) AS n_rows FROM emails WHERE e IS NOT NULL
        GROUP BY e HAVING count(DISTINCT s) >= 2 AND count(*) < 20 AND max(n) IS NOT NULL
        ORDER BY systems DESC, n_rows DESC, e""")
    persons = [e for e, name, _, _ in rows if not is_organisation_name(name)]
    assert persons or rows, "the tiny generation should hold customers known to two systems"
    return (persons or [r[0] for r in rows])[0]


@pytest.fixture(scope="module")
def erased(tiny_run: dict, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("erasure")
    clone_run(tiny_run["root"], root / "data")
    landing = root / "landing"
    shutil.copytree(tiny_run["landing"], landing)
    with environment(run_env(root / "data", landing)):
        wh = Warehouse()
        email = _pick_subject(wh.published_path)
        with duckdb.connect(str(wh.published_path)) as con:
            # an earlier version of the subject's ERP customer record, with a mailbox and phone the person no longer
            # uses: the same customer number links it to them (dim_customer_history publishes every version)
            con.execute("INSERT INTO raw.erp__customers SELECT * REPLACE (? AS email, '+49 30 9876543' AS phone, "
                        "updated_at - INTERVAL 30 DAY AS updated_at, 'erp/customers/earlier.csv' AS _source_file) "
                        "FROM raw.erp__customers WHERE lower(email) = ? LIMIT 1", [EARLIER_EMAIL, email])
        con = duckdb.connect(str(wh.published_path), read_only=True)
        before = resolve(con, "email", email.upper())  # any case: identifiers are compared normalised
        con.close()
        name = next(v for v in sorted(before.values) if "@" not in v and not v[0].isdigit())
        decisions.record("AP-0000001", "reject", None, "ann", f"vendor contact {email} ({name}) disputes it")
        result = erase("email", email.upper(), "ann (DPO)", "request 2025-17")
        yield {"root": root / "data", "landing": landing, "wh": wh, "email": email, "values": sorted(before.values),
               "subject": before, "result": result}


EARLIER_EMAIL = "earlier.mailbox@example.org"


def _nowhere(path: Path, values: list[str]) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return erasure.find_values(con, values)
    finally:
        con.close()


def test_the_subject_is_found_across_systems_before(erased):
    subject = erased["subject"]
    assert len(subject.rows) >= 2 and sum(map(len, subject.rows.values())) >= 2
    assert erased["email"] in {v.lower() for v in subject.values}
    assert len(subject.values) >= 3  # e-mail plus name / phone / street / texts


def test_every_version_of_the_subjects_customer_record_is_theirs(erased):
    """Found by the current e-mail, the subject includes an earlier version of their ERP customer record that held
    another e-mail and phone (linked by the customer number), and after the erasure neither is anywhere."""
    values = {v.lower() for v in erased["subject"].values}
    assert EARLIER_EMAIL in values and "+49 30 9876543" in values
    assert _nowhere(erased["wh"].published_path, [EARLIER_EMAIL, "+49 30 9876543"]) == {}


def test_no_value_of_the_subject_is_left_anywhere(erased):
    wh, values = erased["wh"], erased["values"]
    assert _nowhere(wh.published_path, values) == {}  # every schema: raw, quarantine, ER, ML, marts ...
    assert _nowhere(wh.bi_path, values) == {}
    assert [e.run_id for e in wh.history()] == [erased["result"].run_id]  # older publishes held the subject: gone
    assert not wh.candidate_file.exists()
    with sqlite3.connect(decisions.store_path()) as con:
        texts = " ".join(str(v) for row in con.execute("SELECT * FROM decisions").fetchall() for v in row).lower()
    assert erased["result"].review_rows == 1 and not any(v.lower() in texts for v in values)
    log_bytes = erasure.log_path().read_bytes().lower()
    assert not any(v.lower().encode() in log_bytes for v in values)


def test_rows_stay_anonymised_and_the_ledger_still_balances(erased):
    published = erased["wh"].published_path
    raw_rows = sum(len(r) for r in erased["subject"].rows.values())
    assert sum(n for t, n in erased["result"].redacted.items() if t.startswith("raw.")) >= raw_rows
    unbalanced = query(published, "SELECT count(*) FROM raw.load_audit WHERE rows_read <> rows_loaded + rows_quarantined")
    assert unbalanced == [(0,)]
    token = "'erased-%@erased.invalid'"
    tokens = query(published, f"SELECT (SELECT count(*) FROM raw.erp__customers WHERE email LIKE {token}) + "
                              f"(SELECT count(*) FROM raw.support__tickets WHERE customer_email LIKE {token})")[0][0]
    assert tokens >= 1


def test_the_log_is_append_only_and_holds_keyed_hashes_only(erased):
    records = erasure.ErasureLog().records()
    assert [r.event for r in records] == ["requested", "published"]
    assert records[0].identifier_hmac == pii.keyed_hash(normalize("email", erased["email"]))
    assert pii.keyed_hash(erased["email"]) in erasure.ErasureLog().erased_hashes()
    assert records[1].published_run_id == erased["result"].run_id and records[1].rows_redacted
    with sqlite3.connect(erasure.log_path()) as con, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("DELETE FROM erasures")


def test_an_unknown_identifier_is_refused(erased):
    with environment(run_env(erased["root"], erased["landing"])), pytest.raises(LookupError, match="nothing to erase"):
        erase("email", "nobody@nowhere.example", "ann", "test")


def test_a_new_export_that_still_carries_the_subject_is_redacted_on_load(erased):
    """The source system still has the person and exports them again: the next run's load redacts the row."""
    email = erased["email"]
    customers = next(e for e in all_entities() if (e.system, e.name) == ("erp", "customers"))
    header = (erased["landing"] / "erp" / "customers").glob("*.csv").__next__().read_text().splitlines()[0]
    columns = header.split(",")
    row = dict.fromkeys(columns, "") | {"customer_id": "C-99001", "customer_name": "Re Export Person", "email": email.upper(),
                                      "phone": "+49 30 1234999", "street": "Neue Str. 9", "city": "Berlin", "country": "DE",
                                      "created_at": "2025-12-01 10:00:00", "updated_at": "2025-12-01 10:00:00"}
    (erased["landing"] / "erp" / "customers" / "customers_2099-01.csv").write_text(
        header + "\n" + ",".join(row[c] for c in columns) + "\n", encoding="utf-8")
    with environment(run_env(erased["root"], erased["landing"])):
        from orchestration.definitions import defs

        job = defs.resolve_job_def("warehouse_job")
        result = job.execute_in_process(instance=DagsterInstance.ephemeral(), raise_on_error=False, asset_selection=[
            AssetKey(customers.asset_key_path), AUDIT_KEY, QUARANTINE_KEY, AssetKey(["published_warehouse"])])
        assert result.success, step_failures(result)
        published = Warehouse().published_path
        loaded = query(published, "SELECT email, customer_name, phone, street FROM raw.erp__customers "
                                  "WHERE customer_id = 'C-99001'")
        assert loaded == [("erased@erased.invalid", "[erased]", "[erased]", "[erased]")]
        assert _nowhere(published, [email, "Re Export Person", "Neue Str. 9"]) == {}
        assert query(published, "SELECT count(*) FROM raw.load_audit WHERE rows_read <> rows_loaded + rows_quarantined") == [(0,)]
