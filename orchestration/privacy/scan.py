"""The PII scan: does any relation a BI user can reach hold, in clear text, an e-mail address, phone number,
IBAN or person's name from the landing data?

The needles come from the warehouse's own raw layer (what was landed and loaded: every column a contract
tags ``pii``), by kind:
- e-mail: every value with an '@'; found in BI text lower-cased;
- IBAN: every value of an ``*iban*`` column, spaces removed; found in BI text with spaces removed;
- phone: the last 8 digits of every ``*phone*`` value with at least 8 digits; found in the digits of BI text
  (so +49 170 1234567, 0170-1234567 and 491701234567 are the same phone);
- name: persons' full names ("first last" of contacts, ticket requesters) and every other PII-tagged name
  value (customer, account, debtor, counterparty) that does not end in a legal-person form (GmbH, AG, Ltd,
  ...): those name an organisation, which is not personal data and may stay in clear; a name with no
  form, or a sole-trader / partnership form (e.K., EI, VOF, OHG, KG, LLC), may be a person's. Found
  case-insensitively as a substring of BI text (names of at least 5 characters).
Every text column of every table of the scanned file is searched, set-based in DuckDB.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from orchestration.privacy.erasure import column_kind
from smb_warehouse.core.sql import ident, lit
from smb_warehouse.core.warehouse import open_duckdb
from smb_warehouse.ingestion.contracts import all_entities

LEGAL_PERSON_FORMS = ("GmbH & Co. KG", "GmbH & Co KG", "GmbH", "gGmbH", "AG", "SE", "UG", "KG", "OHG", "Ltd", "Ltd.",
                      "Limited", "PLC", "LLP", "Inc", "Inc.", "Corp", "Corp.", "B.V.", "BV", "N.V.", "NV", "S.A.S.", "SAS",
                      "SARL", "S.A.", "SA", "S.L.", "SL", "S.r.l.", "Srl", "S.p.A.", "SpA", "AB", "A/S", "ApS", "Oy",
                      "sp. z o.o.", "s.r.o.")
_LEGAL_PERSON = re.compile(r"[,]?\s+(" + "|".join(re.escape(f) for f in LEGAL_PERSON_FORMS) + r")$", re.IGNORECASE)
KINDS = ("email", "iban", "phone", "name")


def is_organisation_name(name: str) -> bool:
    """True when ``name`` ends in a legal-person form (an organisation's name, not personal data)."""
    return bool(_LEGAL_PERSON.search(name.strip()))


def _kind(column: str) -> str | None:
    """The erasure's column kinds the scan looks for (streets and free text are not scanned)."""
    kind = column_kind(column)
    return kind if kind in ("email", "iban", "phone", "name") else None


def personal_values(published: Path) -> dict[str, set[str]]:
    """{kind: needles} from the raw tables of the (internal) published warehouse, normalised as the scan
    compares them (module docstring). A name the landing data also shows with a legal-person form
    ("Ashford Automation" next to "Ashford Automation GmbH") is that organisation's and no needle. Opens the
    file read-only."""
    con = open_duckdb(published, read_only=True)
    found: dict[str, set[str]] = {k: set() for k in KINDS}
    organisations: set[str] = set()
    try:
        tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw'").fetchall()}
        for entity in all_entities():
            if entity.raw_table not in tables:
                continue
            names = {c.name for c in entity.columns}
            for column in (c.name for c in entity.columns if c.pii):
                kind = _kind(column)
                if kind is None or column in ("first_name", "last_name"):
                    continue
                values = [" ".join(v.split()) for (v,) in con.execute(
                    f"SELECT DISTINCT trim(CAST({ident(column)} AS VARCHAR)) FROM {entity.qualified_raw_table} "
                    f"WHERE {ident(column)} IS NOT NULL").fetchall() if v]
                if kind == "name":
                    organisations |= {_LEGAL_PERSON.sub("", v).strip().lower() for v in values if is_organisation_name(v)}
                found[kind] |= {n for n in (_needle(kind, v) for v in values) if n}
            if {"first_name", "last_name"} <= names:
                rows = con.execute(f"SELECT DISTINCT trim(first_name) || ' ' || trim(last_name) "
                                   f"FROM {entity.qualified_raw_table} "
                                   "WHERE first_name IS NOT NULL AND last_name IS NOT NULL").fetchall()
                found.setdefault("person", set()).update(n for n in (_needle("person", v) for (v,) in rows) if n)
    finally:
        con.close()
    found["name"] = {n for n in found["name"] if n not in organisations} | found.pop("person", set())
    return found


def _needle(kind: str, value: str) -> str | None:
    value = " ".join(value.split())
    if kind == "email":
        return value.lower() if "@" in value else None
    if kind == "iban":
        compact = value.replace(" ", "").upper()
        return compact if len(compact) >= 15 else None
    if kind == "phone":
        digits = re.sub(r"\D", "", value)
        return digits[-8:] if len(digits) >= 8 else None
    if kind == "person" or (kind == "name" and not is_organisation_name(value)):
        return value.lower() if len(value) >= 5 else None
    return None


@dataclass(frozen=True)
class Hit:
    kind: str
    relation: str  # "<schema>.<table>.<column>"
    needle: str
    value: str


def scan(path: Path, needles: dict[str, set[str]], limit: int = 50) -> tuple[int, int, list[Hit]]:
    """(relations scanned, text values scanned, hits (at most ``limit``)) of ``needles`` in every text column
    of every table of the DuckDB file at ``path``, opened read-only."""
    con = open_duckdb(path, read_only=True)
    try:
        columns = con.execute(
            "SELECT c.schema_name, c.table_name, c.column_name FROM duckdb_columns() c JOIN duckdb_tables() t "
            "USING (database_name, schema_name, table_name) WHERE c.data_type IN ('VARCHAR', 'JSON')").fetchall()
        relations = con.execute("SELECT count(*) FROM duckdb_tables()").fetchone()[0]
        relations += con.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchone()[0]
        if not columns:
            return relations, 0, []
        union = " UNION ALL ".join(
            f"SELECT DISTINCT {lit(f'{s}.{t}.{c}')} AS relation, CAST({ident(c)} AS VARCHAR) AS value "
            f"FROM {ident(s)}.{ident(t)} WHERE {ident(c)} IS NOT NULL" for s, t, c in columns)
        con.execute(f"CREATE TEMP TABLE scan_values AS {union}")
        con.execute("CREATE TEMP TABLE scan_needles (kind VARCHAR, needle VARCHAR)")
        rows = [(k, n) for k, ns in needles.items() for n in ns]
        if rows:
            con.executemany("INSERT INTO scan_needles VALUES (?, ?)", rows)
        values = con.execute("SELECT count(*) FROM scan_values").fetchone()[0]
        hits = con.execute(f"""
            WITH v AS (SELECT relation, value, lower(value) AS low, upper(replace(value, ' ', '')) AS compact,
                              regexp_replace(value, '[^0-9]', '', 'g') AS digits FROM scan_values)
            SELECT n.kind, v.relation, n.needle, v.value FROM v JOIN scan_needles n ON
                   (n.kind IN ('email', 'name') AND contains(v.low, n.needle))
                OR (n.kind = 'iban' AND contains(v.compact, n.needle))
                OR (n.kind = 'phone' AND contains(v.digits, n.needle))
            ORDER BY 1, 2, 3 LIMIT {int(limit)}""").fetchall()
    finally:
        con.close()
    return relations, values, [Hit(*h) for h in hits]
