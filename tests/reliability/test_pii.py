"""What BI reads (bi/warehouse.duckdb of the shared tiny run) holds only the public marts and no clear-text
personal data from the landing data: no e-mail, phone, IBAN or person's name. Pseudonyms are keyed (HMAC
under the installation key), and the key is in no warehouse file and no dbt artifact."""
from __future__ import annotations

import hashlib
from pathlib import Path

from orchestration.privacy.scan import personal_values, scan
from smb_warehouse.core import dbt_manifest, paths, pii
from tests.support import environment, query, run_env


def test_the_bi_copy_holds_exactly_the_public_relations(tiny_run):
    bi = tiny_run["root"] / "warehouse" / "bi" / "warehouse.duckdb"
    tables = {r[0] for r in query(bi, "SELECT schema_name || '.' || table_name FROM duckdb_tables()")}
    assert tables == set(dbt_manifest.public_relations()) | {"meta.publish_info"}
    assert not {t.split(".")[0] for t in tables} & {"raw", "staging", "intermediate", "entity_resolution", "ml"}
    assert query(bi, "SELECT missing_relations FROM meta.publish_info") == [(None,)]


def test_no_clear_text_personal_data_reaches_bi(tiny_run):
    needles = personal_values(tiny_run["published"])
    assert all(len(needles[k]) >= 10 for k in ("email", "phone", "iban", "name")), {k: len(v) for k, v in needles.items()}
    # the scanner finds them where they are (the internal raw layer) ...
    _, _, internal = scan(tiny_run["published"], needles, limit=1_000_000)
    assert {h.kind for h in internal} == {"email", "phone", "iban", "name"}
    # ... and nowhere in what BI reads
    relations, values, hits = scan(tiny_run["root"] / "warehouse" / "bi" / "warehouse.duckdb", needles)
    assert relations >= 30 and values > 1000
    assert hits == [], hits[:10]


def test_pseudonyms_are_keyed_and_the_key_stays_out_of_the_warehouse(tiny_run):
    with environment(run_env(tiny_run["root"], tiny_run["landing"])):
        key = pii.hash_key()
        key_file = pii.key_file()
    assert key_file.exists() and (key_file.stat().st_mode & 0o077) == 0  # owner-only
    email, pseudonym = query(tiny_run["published"], """
        SELECT g.email, d.email_sha256 FROM intermediate.int_core__customer_golden g
        JOIN marts.dim_customer d USING (customer_id) WHERE g.email IS NOT NULL ORDER BY customer_id LIMIT 1""")[0]
    assert pseudonym == pii.keyed_hash(email, key)
    assert pseudonym != hashlib.sha256(email.encode()).hexdigest()  # not the reversible unsalted hash
    secret = key.encode()
    warehouse_files = list((tiny_run["root"] / "warehouse").rglob("*.duckdb"))
    artifacts = list((paths.DBT_PROJECT_DIR / "target").glob("*.json")) + list((tiny_run["root"] / "docs").glob("*"))
    for path in warehouse_files + artifacts:
        assert secret not in Path(path).read_bytes(), path
