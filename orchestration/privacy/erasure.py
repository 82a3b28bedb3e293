"""Erase one data subject (GDPR art. 17) from every layer, log it without the personal data, republish.

``make erase ARGS="--email anna@firm.example --by 'ann (DPO)' --why 'request 2025-17'"`` (or ``--customer-id
C-00012`` or ``--iban DE89...``). Under the writer lock, in a candidate copy of the published warehouse:

1. Resolve the subject: the raw rows (every loaded version) holding the identifier, then, transitively, the
   rows sharing one of their e-mail addresses, IBANs or ERP customer numbers (a sole trader's mailbox on their
   AR invoices and support tickets; every version of their ERP customer record, also one that still held an
   earlier e-mail or phone, which dim_customer_history would otherwise keep publishing, and their orders).
   Values a large part of a table shares (the company's own bank account on every statement line: >= 20 rows
   and >= 20 % of the table outside the subject's rows) are not the subject's.
2. Log ``requested`` in the erasure log: keyed hashes of the identifier and of every identifying value
   (e-mails, IBANs, phones, customer ids), never the values. Those hashes are the erasure list the loader
   applies to every future load (``apply_erasure_list``), so a source system that still exports the person
   never brings them back; files already loaded are never read again (content hash).
3. Redact: every occurrence of the subject's values (e-mails, phones, IBANs, names, streets, ticket texts;
   case-insensitive) in every text column of every table of every schema (raw, quarantine records,
   entity resolution, the Python-written ML / workflow tables, marts) becomes a token (``[erased-…]``,
   distinct per value so keys stay unique); entity-resolution evidence and review pairs that involve the
   subject's records lose their comparison text (it holds normalised forms of the values). Rows stay:
   orders and invoices are kept, anonymised (bookkeeping law), and every count and conservation check holds.
4. Verify: none of the values is found anywhere in the candidate; else nothing is published.
5. Publish (compacted: no freed page keeps a value), rebuild the BI copy, delete every older kept publish
   (a rollback must not bring the person back), redact the review decisions store, log ``published``.

The landing zone is left alone: it is the source systems' export folder, not the warehouse's to edit; the
erasure list keeps its files' personal data out. Not reached: models already trained in MLflow (triage reads
ticket texts; they age out with model retention), backups outside this machine.
"""
from __future__ import annotations

import argparse
import re
import sqlite3
import sys
import uuid
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from smb_warehouse.core import erasure, pii
from smb_warehouse.core.sql import ident, lit
from smb_warehouse.core.warehouse import Warehouse, transaction
from smb_warehouse.ingestion.contracts import Entity, all_entities
from smb_warehouse.reconciliation import decisions as review_store

KINDS = ("email", "customer_id", "iban")
EXPANDING = ("email", "iban", "customer_id")  # kinds that link a subject's rows to more of their rows
IDENTIFYING = ("email", "iban", "phone", "customer_id")  # kinds whose hashes form the erasure list
SHARED_MIN_ROWS, SHARED_MIN_SHARE = 20, 0.2
MIN_VALUE_LENGTH = 5


class ErasureIncomplete(RuntimeError):
    """After redaction a value of the subject was still found: nothing was published."""


def column_kind(name: str) -> str | None:
    """Kind of a PII column by its contract name: email, iban, phone, name, street, text."""
    if "email" in name:
        return "email"
    if "iban" in name:
        return "iban"
    if "phone" in name:
        return "phone"
    if name.endswith("name"):
        return "name"
    if "street" in name:
        return "street"
    return "text"


def normalize(kind: str, value: str) -> str:
    """The form identifying values are compared and hashed in (SQL twin: ``normalize_sql``)."""
    if kind == "iban":
        return re.sub(r"\s", "", value).lower()
    if kind == "phone":
        return re.sub(r"[^0-9]", "", value)
    if kind == "customer_id":
        return value.strip()
    return value.strip().lower()


def normalize_sql(kind: str, expr: str) -> str:
    if kind == "iban":
        return f"lower(regexp_replace(CAST({expr} AS VARCHAR), '\\s', '', 'g'))"
    if kind == "phone":
        return f"regexp_replace(CAST({expr} AS VARCHAR), '[^0-9]', '', 'g')"
    if kind == "customer_id":
        return f"trim(CAST({expr} AS VARCHAR))"
    return f"lower(trim(CAST({expr} AS VARCHAR)))"


def _identifying_columns(entity: Entity) -> list[tuple[str, str]]:
    """(column, kind) the subject can be recognised by: PII e-mail / IBAN / phone columns and customer_id."""
    found = [(c.name, column_kind(c.name)) for c in entity.columns if c.pii and column_kind(c.name) in ("email", "iban", "phone")]
    found += [(c.name, "customer_id") for c in entity.columns if c.name == "customer_id"]
    return found


def _pii_columns(entity: Entity) -> list[str]:
    return [c.name for c in entity.columns if c.pii]


def _loaded(con: duckdb.DuckDBPyConnection) -> list[Entity]:
    tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw' "
                                        "AND database_name = current_database()").fetchall()}
    return [e for e in all_entities() if e.raw_table in tables]


@dataclass
class Subject:
    kind: str
    identifier: str
    rows: dict[str, list[int]] = field(default_factory=dict)      # raw table -> rowids
    identifying: set[tuple[str, str]] = field(default_factory=set)  # (kind, normalised value): the erasure list
    values: set[str] = field(default_factory=set)                 # clear values to redact (memory only)
    keys: set[str] = field(default_factory=set)                   # source ids of the subject's records


def _shared(con, entity: Entity, column: str, value: str, subject_rows: list[int]) -> bool:
    """Is ``value`` in ``column`` shared by a large part of the table outside the subject's rows?"""
    total, outside = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {ident(column)} = ? AND rowid NOT IN (SELECT unnest(?::BIGINT[]))) "
        f"FROM {entity.qualified_raw_table}", [value, subject_rows]).fetchone()
    return outside >= SHARED_MIN_ROWS and outside >= SHARED_MIN_SHARE * total


def resolve(con: duckdb.DuckDBPyConnection, kind: str, identifier: str, max_rounds: int = 4) -> Subject:
    """The subject's raw rows and values (module docstring, step 1). Raises ``LookupError`` when no raw row
    holds the identifier."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    subject = Subject(kind, identifier)
    ids = {(kind, normalize(kind, identifier))}
    entities = _loaded(con)
    for _ in range(max_rounds):
        for entity in entities:
            conds, params = [], []
            for column, ckind in _identifying_columns(entity):
                wanted = sorted(v for k, v in ids if k == ckind and (ckind in EXPANDING or k == kind))
                if wanted:
                    conds.append(f"{normalize_sql(ckind, ident(column))} IN (SELECT unnest(?::VARCHAR[]))")
                    params.append(wanted)
            if conds:
                rowids = [r for (r,) in con.execute(f"SELECT rowid FROM {entity.qualified_raw_table} WHERE {' OR '.join(conds)}",
                                                    params).fetchall()]
                if rowids:
                    known = set(subject.rows.get(entity.qualified_raw_table, []))
                    subject.rows[entity.qualified_raw_table] = sorted(known | set(rowids))
        new = set(ids)
        for entity in entities:
            rows = subject.rows.get(entity.qualified_raw_table)
            for column, ckind in _identifying_columns(entity) if rows else []:
                for value in _distinct(con, entity, ident(column), rows):
                    if ckind in EXPANDING and not _shared(con, entity, column, value, rows):
                        new.add((ckind, normalize(ckind, str(value))))
        if new == ids:
            break
        ids = new
    if not subject.rows:
        raise LookupError(f"no raw record holds {kind} {identifier!r}: nothing to erase")
    _collect_values(con, entities, subject)
    return subject


def _collect_values(con, entities: list[Entity], subject: Subject) -> None:
    for entity in entities:
        rows = subject.rows.get(entity.qualified_raw_table)
        if not rows:
            continue
        columns = _pii_columns(entity)
        names = {c.name for c in entity.columns}
        for column in columns:
            kind = column_kind(column)
            for value in _distinct(con, entity, ident(column), rows):
                if not value or _shared(con, entity, column, value, rows):
                    continue
                if column in ("first_name", "last_name"):
                    continue  # a first or last name alone is no identifier: redacted as part of the full name below
                _add_value(subject, kind, str(value))
        if {"first_name", "last_name"} <= names:
            for full in _distinct(con, entity, "trim(first_name) || ' ' || trim(last_name)", rows):
                _add_value(subject, "name", full)
        for column in [c for c in entity.primary_key if c in names] + [c for c in names if c.endswith("_id")]:
            subject.keys |= {str(v) for v in _distinct(con, entity, ident(column), rows)}
        for column, kind in _identifying_columns(entity):
            if kind == "customer_id":
                subject.identifying |= {(kind, normalize(kind, str(v))) for v in _distinct(con, entity, ident(column), rows)}
    subject.keys |= {v for k, v in subject.identifying if k == "email"}
    if subject.kind == "customer_id":
        subject.identifying.add(("customer_id", normalize("customer_id", subject.identifier)))


def _distinct(con, entity: Entity, expr: str, rows: list[int]) -> list:
    """Distinct non-null, non-empty values of ``expr`` over the given rows of the entity's raw table."""
    return [v for (v,) in con.execute(f"SELECT DISTINCT {expr} AS v FROM {entity.qualified_raw_table} "
                                      f"WHERE rowid IN (SELECT unnest(?::BIGINT[])) AND {expr} IS NOT NULL", [rows]).fetchall()
            if v is not None and str(v).strip()]


def _add_value(subject: Subject, kind: str, value: str) -> None:
    value = " ".join(value.split())
    if kind == "phone":
        digits = normalize("phone", value)
        if len(digits) >= 7:
            subject.values |= {v for v in (value, digits, digits.lstrip("0")) if len(v) >= 9 or v == value}
            subject.identifying.add(("phone", digits))
        return
    if len(value) < MIN_VALUE_LENGTH:
        return
    subject.values.add(value)
    if kind == "iban":
        subject.values.add(value.replace(" ", ""))
        subject.identifying.add(("iban", normalize("iban", value)))
    elif kind == "email":
        subject.identifying.add(("email", normalize("email", value)))


def _tokens(values: Iterable[str]) -> dict[str, str]:
    """A distinct token per value (keys made of an erased value stay unique); e-mail-like values keep an
    e-mail shape so format checks downstream still hold."""
    out = {}
    for value in values:
        tag = uuid.uuid4().hex[:10]
        out[value] = f"erased-{tag}@erased.invalid" if "@" in value else f"[erased-{tag}]"
    return out


def _redact_entity_resolution(con, keys: set[str]) -> dict[str, int]:
    """Evidence and review pairs involving the subject's records keep their keys but lose their comparison
    text (normalised names, streets and e-mails of both sides)."""
    if not keys:
        return {}
    changed = {}
    rows = con.execute("SELECT table_name, list(column_name ORDER BY column_index) FROM duckdb_columns() WHERE "
                       "database_name = current_database() AND schema_name = 'entity_resolution' AND data_type = 'VARCHAR' "
                       "GROUP BY 1").fetchall()
    for table, columns in rows:
        key_columns = [c for c in columns if c.endswith("record_key")]
        text_columns = [c for c in columns if c in ("comparison_detail", "left_summary", "right_summary", "reason")]
        if not key_columns or not text_columns:
            continue
        where = " OR ".join(f"split_part({ident(c)}, ':', -1) IN (SELECT unnest(?::VARCHAR[]))" for c in key_columns)
        sets = ", ".join(f"{ident(c)} = {lit(erasure.ERASED)}" for c in text_columns)
        n = con.execute(f"UPDATE entity_resolution.{ident(table)} SET {sets} WHERE {where}",
                        [sorted(keys)] * len(key_columns)).fetchone()[0]
        if n:
            changed[f"entity_resolution.{table}"] = int(n)
    return changed


def redact_sqlite_store(path: Path, tokens: dict[str, str]) -> int:
    """Replace the subject's values in every text column of an append-only SQLite store (the review
    decisions): its no-update triggers are dropped and re-created around the change, in one transaction.
    Returns the rows changed."""
    if not path.exists() or not tokens:
        return 0
    pattern = re.compile("|".join(re.escape(v) for v in sorted(tokens, key=len, reverse=True)), re.IGNORECASE)
    lower = {v.lower(): t for v, t in tokens.items()}
    changed = 0
    with closing(sqlite3.connect(str(path), timeout=30)) as con:
        con.isolation_level = None
        con.execute("BEGIN IMMEDIATE")
        try:
            triggers = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
            for name, _ in triggers:
                con.execute(f'DROP TRIGGER "{name}"')
            tables = con.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").fetchall()
            for (table,) in tables:
                columns = [r[1] for r in con.execute(f'PRAGMA table_info("{table}")').fetchall() if r[2].upper() in ("TEXT", "")]
                selected = ", ".join(f'"{c}"' for c in columns)
                for rowid, *texts in con.execute(f'SELECT rowid, {selected} FROM "{table}"').fetchall():
                    new = [pattern.sub(lambda m: lower[m.group(0).lower()], t) if isinstance(t, str) else t for t in texts]
                    if new != texts:
                        sets = ", ".join(f'"{c}" = ?' for c in columns)
                        con.execute(f'UPDATE "{table}" SET {sets} WHERE rowid = ?', [*new, rowid])
                        changed += 1
            for _, sql in triggers:
                con.execute(sql)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return changed


@dataclass
class ErasureResult:
    erasure_id: str
    run_id: str
    subject_rows: dict[str, int]
    values: int
    redacted: dict[str, int]
    review_rows: int
    publishes_purged: int


def erase(kind: str, identifier: str, requested_by: str, reason: str, warehouse: Warehouse | None = None) -> ErasureResult:
    """Erase the subject (module docstring). Raises ``LookupError`` (unknown identifier),
    ``ErasureIncomplete`` (a value survived: nothing published), ``WarehouseBusy`` (a run holds the lock)."""
    wh = warehouse or Warehouse()
    erasure_id = str(uuid.uuid4())
    run_id = f"erasure-{erasure_id[:8]}"
    log = erasure.ErasureLog()
    with wh.writer(run_id):
        with wh.connect(run_id) as con:
            subject = resolve(con, kind, identifier)
            identifying = [v for _, v in subject.identifying]
            log.append(event="requested", erasure_id=erasure_id, requested_by=requested_by, reason=reason, identifier_kind=kind,
                       identifier=normalize(kind, identifier), values=identifying)
            tokens = _tokens(subject.values)
            hashes = {pii.keyed_hash(v) for v in subject.values} | {pii.keyed_hash(v) for v in identifying}
            with transaction(con):
                redacted = _redact_entity_resolution(con, subject.keys)
                for table, n in erasure.redact_values(con, {**tokens, **dict.fromkeys(hashes, erasure.ERASED)}).items():
                    redacted[table] = redacted.get(table, 0) + n
            left = erasure.find_values(con, list(subject.values) + sorted(hashes))
            if left:
                raise ErasureIncomplete(f"after redaction the subject's values are still in {sorted(left)}; "
                                        "nothing was published")
        wh.publish(run_id)
        purged = wh.purge_history_except_current()
    review_rows = redact_sqlite_store(review_store.store_path(), tokens)
    log.append(event="published", erasure_id=erasure_id, requested_by=requested_by, reason=reason, identifier_kind=kind,
               identifier=normalize(kind, identifier), values=identifying, rows_redacted=redacted, published_run_id=run_id)
    return ErasureResult(erasure_id, run_id, {t: len(r) for t, r in subject.rows.items()}, len(subject.values), redacted,
                         review_rows, len(purged))


def apply_erasure_list(con: duckdb.DuckDBPyConnection, entity: Entity, load_id: str) -> int:
    """Redact, in the rows ``load_id`` just loaded into ``entity``'s raw table, every record whose e-mail,
    IBAN, phone or customer id hashes to the erasure list (its PII columns become tokens, except values
    a large part of the table shares), and every quarantined record of this load holding such a value.
    Returns the raw rows redacted. A no-op (no key needed) while the erasure list is empty."""
    hashes = sorted(erasure.ErasureLog().erased_hashes())
    if not hashes:
        return 0
    pii.configure(con)
    conds = [f"{pii.hmac_sql(normalize_sql(kind, ident(column)))} IN (SELECT unnest(?::VARCHAR[]))"
             for column, kind in _identifying_columns(entity)]
    redacted = 0
    if conds:
        rows = [r for (r,) in con.execute(
            f"SELECT rowid FROM {entity.qualified_raw_table} WHERE _load_id = ? AND ({' OR '.join(conds)})",
            [load_id] + [hashes] * len(conds)).fetchall()]
        for column in _pii_columns(entity) if rows else []:
            values = [v for (v,) in con.execute(
                f"SELECT DISTINCT {ident(column)} FROM {entity.qualified_raw_table} WHERE rowid IN (SELECT unnest(?::BIGINT[])) "
                f"AND {ident(column)} IS NOT NULL", [rows]).fetchall() if not _shared(con, entity, column, v, rows)]
            if values:
                token = "erased@erased.invalid" if column_kind(column) == "email" else erasure.ERASED
                con.execute(f"UPDATE {entity.qualified_raw_table} SET {ident(column)} = {lit(token)} "
                            f"WHERE rowid IN (SELECT unnest(?::BIGINT[])) AND {ident(column)} IN (SELECT unnest(?::VARCHAR[]))",
                            [rows, [str(v) for v in values]])
        redacted = len(rows)
    # quarantined records of this load: any field (split on the usual separators) that hashes to the list
    listed = " OR ".join(f"{pii.hmac_sql(normalize_sql(k, 'field'))} IN (SELECT unnest(?::VARCHAR[]))"
                         for k in ("email", "iban", "phone"))
    con.execute(f"""UPDATE raw.quarantine SET raw_record = {lit(erasure.ERASED + ' (a record of an erased data subject)')}
        WHERE load_id = ? AND system = ? AND entity = ? AND rowid IN (
            SELECT q_rowid FROM (SELECT rowid AS q_rowid, unnest(string_split_regex(raw_record, '[,;\\t|"{{}}:]')) AS field
                                 FROM raw.quarantine WHERE load_id = ? AND system = ? AND entity = ?) AS fields
            WHERE trim(field) <> '' AND ({listed}))""",
                [load_id, entity.system, entity.name, load_id, entity.system, entity.name, hashes, hashes, hashes])
    return redacted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.privacy.erasure",
                                     description="Erase one data subject from every layer of the warehouse and republish.")
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--email")
    who.add_argument("--customer-id")
    who.add_argument("--iban")
    parser.add_argument("--by", required=True, help="who asked for / approved the erasure (logged)")
    parser.add_argument("--why", required=True, help="the request reference (logged)")
    args = parser.parse_args(argv)
    given = (("email", args.email), ("customer_id", args.customer_id), ("iban", args.iban))
    kind, identifier = next((k, v) for k, v in given if v)
    try:
        result = erase(kind, identifier, args.by, args.why)
    except (LookupError, ErasureIncomplete) as exc:
        print(f"erasure refused: {exc}", file=sys.stderr)
        return 1
    print(f"erasure {result.erasure_id} published by run {result.run_id}:\n"
          f"  subject's raw rows: {sum(result.subject_rows.values())} in {', '.join(sorted(result.subject_rows))}\n"
          f"  values redacted: {result.values}, rows changed: {sum(result.redacted.values())} in {len(result.redacted)} tables\n"
          f"  review decisions redacted: {result.review_rows}; older publishes deleted: {result.publishes_purged}\n"
          f"  logged in {erasure.log_path()} (keyed hashes only); the loader keeps the subject out of future loads")
    return 0


if __name__ == "__main__":
    sys.exit(main())
