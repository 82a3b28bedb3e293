"""Contract validation as ONE generated, set-based SELECT over a staged file.

For every contract column it derives the typed value (cast per contract type and file format) and an
error message (or NULL); rows collect all their messages in ``_errors``. Duplicate primary keys within
the file are flagged in the same statement with a window: the first valid occurrence wins, later ones
are quarantined with a pointer to it. Duplicates across files are not checked here on purpose: a later
batch legitimately carries a newer version of the record, and staging keeps the latest.

Result table columns: ``_line, _raw, _extra``, one typed column per contract column (contract name),
``_errors VARCHAR[]``, ``_first_col VARCHAR`` and ``_dup_of BIGINT`` (first line of the same key).
"""
from __future__ import annotations

from smb_warehouse.core.sql import ident, lit, lit_list
from smb_warehouse.ingestion.contracts import Column, Entity

# A time followed by a UTC designator or offset: such values are converted to UTC. Values without
# one are taken as UTC already (casting them via TIMESTAMPTZ would use the session time zone).
_OFFSET_RE = r"[0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)? ?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$"
_INTEGER_RE = r"^[+-]?[0-9]+$"
_DECIMAL_RE = {
    ".": r"^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)$",
    # Decimal comma: '.' may only appear as a thousands separator in full groups ('1.234.567,89').
    ",": r"^[+-]?([0-9]+|[0-9]{1,3}([.][0-9]{3})+)(,[0-9]*)?$",
}
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")
_MAX_SHOWN = 200  # longest value echoed into a quarantine reason


def _formats(entity: Entity, col: Column) -> tuple[str, ...]:
    return col.formats or entity.format.date_formats


def _typed(entity: Entity, col: Column, v: str) -> str:
    """SQL producing the column's typed value from its (trimmed, NULL-if-empty) text ``v``;
    NULL when the text does not convert."""
    if col.type == "string":
        return v
    if col.type == "integer":
        return f"CASE WHEN regexp_full_match({v}, {lit(_INTEGER_RE)}) THEN TRY_CAST({v} AS BIGINT) END"
    if col.type == "decimal":
        sep = entity.format.decimal_separator
        text = v if sep == "." else f"replace(replace({v}, '.', ''), {lit(sep)}, '.')"
        pattern = _DECIMAL_RE.get(sep, _DECIMAL_RE["."])
        return f"CASE WHEN regexp_full_match({v}, {lit(pattern)}) THEN TRY_CAST({text} AS {col.raw_type}) END"
    if col.type == "date":
        return f"TRY_CAST(try_strptime({v}, {lit_list(_formats(entity, col))}) AS DATE)"
    if col.type == "timestamp":
        return (f"CASE WHEN regexp_matches({v}, {lit(_OFFSET_RE)}) "
                f"THEN TRY_CAST({v} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' "
                f"ELSE coalesce(TRY_CAST({v} AS TIMESTAMP), "
                f"TRY_CAST(try_strptime({v}, {lit_list(_formats(entity, col))}) AS TIMESTAMP)) END")
    if col.type == "boolean":
        return (f"CASE WHEN lower({v}) IN ({', '.join(map(lit, _TRUE))}) THEN true "
                f"WHEN lower({v}) IN ({', '.join(map(lit, _FALSE))}) THEN false END")
    raise ValueError(f"unsupported contract type {col.type!r}")


def _cast_problem(entity: Entity, col: Column) -> str:
    if col.type == "date":
        return f"does not match date formats {list(_formats(entity, col))}"
    if col.type == "timestamp":
        return f"is not a valid timestamp (ISO 8601 or formats {list(_formats(entity, col))})"
    if col.type == "decimal":
        return f"is not a valid decimal (decimal separator {entity.format.decimal_separator!r})"
    if col.type == "boolean":
        return "is not a valid boolean (true/false/1/0/yes/no)"
    return f"is not a valid {col.type}"


def _error(entity: Entity, col: Column, v: str, t: str) -> str:
    """SQL for the column's error message, or NULL when the value is acceptable."""
    shown = f"left({v}, {_MAX_SHOWN})"

    def msg(problem: str) -> str:
        return f"concat({lit(col.name + ': ' + chr(39))}, {shown}, {lit(chr(39) + ' ' + problem)})"

    branches = [f"WHEN {v} IS NULL THEN " + (lit(f"{col.name}: missing required value") if col.required else "NULL")]
    if col.type != "string":
        branches.append(f"WHEN {t} IS NULL THEN {msg(_cast_problem(entity, col))}")
    if col.accepted_values is not None:
        values = ", ".join(col.accepted_values)
        branches.append(f"WHEN {v} NOT IN ({', '.join(map(lit, col.accepted_values))}) "
                        f"THEN {msg(f'is not one of the accepted values [{values}]')}")
    if col.pattern:
        branches.append(f"WHEN NOT regexp_full_match({v}, {lit(col.pattern)}) "
                        f"THEN {msg(f'does not match pattern {col.pattern!r}')}")
    return "CASE " + " ".join(branches) + " END"


def checked_table_sql(entity: Entity, staged: str, target: str) -> str:
    """CREATE TEMP TABLE ``target`` with typed values, errors and duplicate flags for ``staged``."""
    texts, typed, errors, firsts = [], [], [], []
    for col in entity.columns:
        src, v, t, e = (ident(col.name + s) for s in ("", "__v", "__t", "__e"))
        # Empty (or blank) means NULL. Strings keep their exact text; other types are trimmed.
        texts.append(f"CASE WHEN trim({src}) <> '' THEN {src if col.type == 'string' else f'trim({src})'} END AS {v}")
        typed.append(f"{_typed(entity, col, v)} AS {t}")
        errors.append(f"{_error(entity, col, v, t)} AS {e}")
        firsts.append(f"CASE WHEN {e} IS NOT NULL THEN {lit(col.name)} END")
    pk_t = ", ".join(ident(k + "__t") for k in entity.primary_key)
    pk_text = " || ', ' || ".join(
        f"{lit(k + '=')} || coalesce('''' || {ident(k + '__v')} || '''', 'NULL')" for k in entity.primary_key)
    # Only valid rows compete for a key: an invalid first occurrence must not block a valid later one.
    window = f"OVER (PARTITION BY len(_errors) = 0, {pk_t} ORDER BY _line)"
    err_cols = ", ".join(ident(c.name + "__e") for c in entity.columns)
    out_cols = ", ".join(f"{ident(c.name + '__t')} AS {ident(c.name)}" for c in entity.columns)
    return f"""CREATE TEMP TABLE {target} AS
    WITH txt AS (SELECT _line, _raw, _extra, {', '.join(texts)} FROM {staged}),
    typed AS (SELECT *, {', '.join(typed)} FROM txt),
    errs AS (SELECT *, {', '.join(errors)} FROM typed),
    checked AS (
        SELECT *, list_filter([{err_cols}], x -> x IS NOT NULL) AS _errors,
               list_filter([{', '.join(firsts)}], x -> x IS NOT NULL)[1] AS _first_col
        FROM errs)
    SELECT _line, _raw, _extra, {out_cols}, _errors, _first_col,
           CASE WHEN len(_errors) = 0 AND row_number() {window} > 1 THEN min(_line) {window} END AS _dup_of,
           '(' || {pk_text} || ')' AS _key_text
    FROM checked"""
