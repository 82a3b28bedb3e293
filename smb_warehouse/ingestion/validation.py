"""Contract validation as generated, set-based SQL over a staged relation of column texts.

For every contract column the SQL derives, in layers of one projection each:

1. ``v``: the value's text as staging will see it: trimmed (contract ``trim``), and NULL for an empty
   cell, a null token (contract ``null_tokens``) or JSON ``null``/missing. For JSON sources the value's
   JSON kind (string, number, boolean, object, array) is kept too: an object or array where a scalar is
   declared, or a kind the column type does not take, is an error, never its JSON text;
2. ``t``: the typed value, or NULL when the text does not convert *exactly* (see below);
3. ``ok``: whether the value passes (present if required, converts, accepted value, pattern).

Conversions are exact or refuse: integers are digits only; decimals must have the contract's separator
shape (thousands groups, if declared, are full groups after a first group without a leading zero) and
fit the column's precision and scale without rounding; dates match their format strictly (``%Y`` is
four digits); timestamps accept the ISO 8601 forms real exports write and the contract formats, with
offsets converted to UTC; booleans are true/false/1/0/yes/no. Error messages are only computed for rows
that failed (``CASE`` evaluates them for those rows alone).
"""
from __future__ import annotations

import re

from smb_warehouse.core.sql import ident, lit
from smb_warehouse.ingestion.contracts import Column, Entity, format_regex

_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")
_MAX_SHOWN = 200  # longest value echoed into a quarantine reason
# JSON kinds a column type takes (the text of a JSON number is the number as written).
JSON_KINDS = {
    "string": ("string", "number"),
    "integer": ("number", "string"),
    "decimal": ("number", "string"),
    "boolean": ("boolean", "string"),
    "date": ("string",),
    "timestamp": ("string",),
}
# A JSON string value that the exact-number route produced from a number token starts with U+0001.
NUMBER_MARK = "\\u0001"
_MARKED = '"' + NUMBER_MARK  # how such a value starts in JSON text
# A marked number inside a JSON text, or any other string token (matched whole, so a quote escaped inside a string
# is never taken for the start of one: '"a\\"\\u0001"' stays as it is).
_MARKED_OR_STRING = '"\\\\u0001(-?[0-9][0-9.eE+-]*)"|("(?:[^"\\\\]|\\\\.)*")'


def unmark_numbers_sql(text: str) -> str:
    """SQL of the JSON text ``text`` with the numbers marked by ``readers.exact_numbers_sql`` written as numbers
    again, with the digits the file wrote (``"\\u00011.50"`` -> ``1.50``)."""
    return f"regexp_replace({text}, {lit(_MARKED_OR_STRING)}, '\\1\\2', 'g')"
_ISO_TS = (r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]{1,6})0{0,3})?)?)?"
           r" ?(?:([Zz])|([+-])([01][0-9]|2[0-3])(?::?([0-5][0-9]))?)?")
_ISO_PARTS = ["y", "mo", "d", "h", "mi", "s", "f", "z", "sign", "oh", "om"]
# Invisible characters are shown escaped in reasons (a no-break space must be visible in a message).
_VISIBLE = [("\u00a0", "\\u00a0"), ("\u202f", "\\u202f"), ("\u2007", "\\u2007"), ("\u200b", "\\u200b"),
            ("\ufeff", "\\ufeff"), ("\t", "\\t"), ("\r", "\\r"), ("\n", "\\n")]


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _formats(entity: Entity, col: Column) -> tuple[str, ...]:
    return col.formats or entity.format.date_formats


def _tokens(entity: Entity, col: Column) -> tuple[str, ...]:
    tokens = tuple(col.null_tokens if col.null_tokens is not None else entity.format.null_tokens)
    if entity.format.escape == "\\":  # a backslash-escaped export (MySQL) writes NULL as an unquoted \N
        tokens += ("\\N",)
    return tokens


def _trim(entity: Entity, col: Column) -> bool:
    return col.trim if col.trim is not None else (entity.format.trim or col.type != "string")


def _visible(expr: str) -> str:
    for raw, shown in _VISIBLE:
        expr = f"replace({expr}, {lit(raw)}, {lit(shown)})"
    return expr


def decimal_patterns(entity: Entity, col: Column, sep: str | None = None) -> tuple[str, str, str | None]:
    """(exact pattern, loose shape pattern, grouped shape pattern or None) for a decimal column.

    The exact pattern accepts a plain decimal (no thousands separators) that fits the column's precision
    and scale without rounding (trailing fraction zeros are not digits of the value); the loose shape
    only tells "does not fit" from "is not a decimal" in messages; the grouped shape accepts thousands
    groups (its fit is checked on the normalized text with the '.' exact pattern)."""
    fmt = entity.format
    sep = re.escape(sep or fmt.decimal_separator)
    precision, scale = col.precision_scale
    whole = precision - scale
    integer = f"0*[0-9]{{1,{whole}}}" if whole else "0+"
    frac = f"{sep}[0-9]{{0,{scale}}}0*" if scale else f"{sep}0*"
    only_frac = f"{sep}[0-9]{{1,{scale}}}0*" if scale else f"{sep}0+"
    exact = f"[+-]?(?:{integer}(?:{frac})?|{only_frac})"
    loose = f"[+-]?(?:[0-9]+(?:{sep}[0-9]*)?|{sep}[0-9]+)"
    ts = fmt.thousands_separator
    grouped = (f"[+-]?[1-9][0-9]{{0,2}}(?:{re.escape(ts)}[0-9]{{3}})+(?:{sep}[0-9]*)?" if ts else None)
    return exact, loose, grouped


def _decimal_sql(entity: Entity, col: Column, v: str, kind: str | None) -> str:
    fmt = entity.format
    exact, _, grouped = decimal_patterns(entity, col)
    point = v if fmt.decimal_separator == "." else f"replace({v}, {lit(fmt.decimal_separator)}, '.')"
    branches = []
    if kind and fmt.decimal_separator != ".":  # JSON numbers always use '.'
        dot_exact = decimal_patterns(entity, col, ".")[0]
        branches.append(f"WHEN {kind} = 'number' THEN CASE WHEN regexp_full_match({v}, {lit(dot_exact)}) "
                        f"THEN TRY_CAST({v} AS {col.raw_type}) END")
    branches.append(f"WHEN regexp_full_match({v}, {lit(exact)}) THEN TRY_CAST({point} AS {col.raw_type})")
    if grouped:
        normal = f"replace({point if fmt.thousands_separator != '.' else v}, {lit(fmt.thousands_separator)}, '')"
        if fmt.thousands_separator == ".":  # drop the groups' dots first, then turn the separator into '.'
            normal = f"replace(replace({v}, '.', ''), {lit(fmt.decimal_separator)}, '.')"
        dot_exact = decimal_patterns(entity, col, ".")[0]
        branches.append(f"WHEN regexp_full_match({v}, {lit(grouped)}) AND regexp_full_match({normal}, {lit(dot_exact)}) "
                        f"THEN TRY_CAST({normal} AS {col.raw_type})")
    return "CASE " + " ".join(branches) + " END"


def _timestamp_sql(entity: Entity, col: Column, v: str) -> str:
    parts = f"regexp_extract({v}, {lit(_ISO_TS)}, {lit_names(_ISO_PARTS)})"
    local = ("TRY_CAST(concat(p.y, '-', p.mo, '-', p.d, ' ', coalesce(nullif(p.h, ''), '00'), ':', "
             "coalesce(nullif(p.mi, ''), '00'), ':', coalesce(nullif(p.s, ''), '00'), "
             "CASE WHEN p.f <> '' THEN '.' || p.f END) AS TIMESTAMP)")
    offset = ("CASE WHEN p.sign = '' THEN INTERVAL 0 MINUTE ELSE to_minutes((CASE WHEN p.sign = '-' THEN -1 ELSE 1 END) "
              "* (p.oh::INT * 60 + coalesce(nullif(p.om, ''), '0')::INT)) END")
    general = f"list_transform([{parts}], p -> {local} - {offset})[1]"
    branches = [
        # the shapes nearly every export writes (UTC or no offset, whole seconds), cast directly
        f"WHEN regexp_full_match({v}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[T ][0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}Z?') "
        f"THEN TRY_CAST(left({v}, 19) AS TIMESTAMP)",
        f"WHEN regexp_full_match({v}, {lit(_ISO_TS)}) THEN {general}",
    ]
    for f in col.formats or ():
        # with %z strptime gives a TIMESTAMPTZ, which a plain cast would turn into the session's local time
        # (the machine's time zone): timezone('UTC', ...) gives the same UTC instant on every machine
        # DuckDB's %z takes +hh:mm and +hhmm but not ISO's Z, which the shape check lets through: at the end of the
        # format (where exports write it) Z is read as +00:00
        zoned = f"CASE WHEN {v} LIKE '%Z' THEN left({v}, -1) || '+00:00' ELSE {v} END" if f.endswith("%z") else v
        value = (f"timezone('UTC', try_strptime({zoned}, {lit(f)}))" if "%z" in f
                 else f"try_strptime({v}, {lit(f)})::TIMESTAMP")
        branches.append(f"WHEN regexp_full_match({v}, {lit(format_regex(f))}) THEN {value}")
    # tried in order: a shape that matches but does not parse (2024-02-30) falls through to the next one
    return "coalesce(" + ", ".join(f"CASE {b} END" for b in branches) + ")"


# A JSON number with an exponent: sign, integer digits, fraction digits, exponent (at most three digits: DECIMAL(38)
# holds no more, and a larger one must not become a string of a million zeros).
_SCIENTIFIC = r"([+-]?)([0-9]*)(?:[.]([0-9]*))?[eE]([+-]?[0-9]{1,3})"


def plain_number_sql(v: str) -> str:
    """SQL of the JSON number text ``v`` written with an exponent (``1.5e-2``, ``1E3``, DuckDB's ``1e-07``) as plain
    digits (``0.015``, ``1000``), by moving the decimal point: exact, never through a double, so the value is checked
    against the column's type, precision and scale like any other (``1e2`` is the integer 100 on every route: the
    exact-number route keeps the text the file wrote, the fast route DuckDB's rendering of the double). NULL when
    ``v`` does not have that shape."""
    parts = f"regexp_extract({v}, {lit('^' + _SCIENTIFIC + '$')}, ['s', 'i', 'f', 'e'])"
    moved = ("q.s || CASE WHEN q.n <= 0 THEN '0.' || repeat('0', -q.n) || q.d "
             "WHEN q.n >= length(q.d) THEN q.d || repeat('0', q.n - length(q.d)) "
             "ELSE q.d[1:q.n] || '.' || q.d[q.n + 1:] END")
    return (f"list_transform([{parts}], p -> CASE WHEN p.e = '' THEN NULL ELSE list_transform("
            f"[{{'s': p.s, 'd': p.i || p.f, 'n': length(p.i) + p.e::INT}}], q -> {moved})[1] END)[1]")


def one_of(expr: str, values) -> str:
    """``expr`` is one of the constant ``values``, as an OR chain (DuckDB plans ``IN (...)`` lists as a join,
    a hash join per column; comparisons are as cheap as reading the value)."""
    return "(" + " OR ".join(f"{expr} = {lit(v)}" for v in values) + ")"


def trimmed(expr: str) -> str:
    """``expr`` without leading/trailing spaces and tabs; only values that have them are copied (trim on
    every value costs more than reading it; LIKE with a fixed prefix/suffix is nearly free)."""
    edges = " OR ".join(f"{expr} LIKE {lit(pat)}" for pat in (" %", "% ", "\t%", "%\t"))
    return f"CASE WHEN {edges} THEN trim({expr}, ' \t') ELSE {expr} END"


def lit_names(names: list[str]) -> str:
    return "[" + ", ".join(lit(n) for n in names) + "]"


def typed_sql(entity: Entity, col: Column, v: str, kind: str | None) -> str:
    """SQL of the column's typed value from its text ``v``; NULL when it does not convert exactly."""
    if col.type == "string":
        return v
    if col.type == "integer":
        sql = f"WHEN regexp_full_match({v}, '[+-]?[0-9]+') THEN TRY_CAST({v} AS BIGINT)"
        if kind:  # a JSON number written as 2.0 is the integer 2
            sql += (f" WHEN {kind} = 'number' AND regexp_full_match({v}, '[+-]?[0-9]+[.]0+') "
                    f"THEN TRY_CAST(split_part({v}, '.', 1) AS BIGINT)")
        return f"CASE {sql} END"
    if col.type == "decimal":
        return _decimal_sql(entity, col, v, kind)
    if col.type == "date":
        # formats are tried in order: one whose shape matches but does not parse (31/12/2024 under %m/%d/%Y) falls
        # through to the next (%d/%m/%Y)
        branches = [f"CASE WHEN regexp_full_match({v}, {lit(format_regex(f))}) THEN try_strptime({v}, {lit(f)})::DATE END"
                    for f in _formats(entity, col)]
        return branches[0] if len(branches) == 1 else "coalesce(" + ", ".join(branches) + ")"
    if col.type == "timestamp":
        return _timestamp_sql(entity, col, v)
    if col.type == "boolean":
        return (f"CASE WHEN {one_of(f'lower({v})', _TRUE)} THEN true "
                f"WHEN {one_of(f'lower({v})', _FALSE)} THEN false END")
    raise ValueError(f"unsupported contract type {col.type!r}")


def _cast_problem(entity: Entity, col: Column, v: str) -> str:
    """SQL text of why ``v`` did not convert."""
    if col.type == "date":
        return lit(f"does not match date formats {list(_formats(entity, col))}")
    if col.type == "timestamp":
        extra = f" or format(s) {list(col.formats)}" if col.formats else ""
        # .NET's round-trip format writes 7 fraction digits, PostgreSQL and others up to 9: more than the microseconds a
        # timestamp holds, so never rounded; the reason says so rather than calling the value no ISO 8601
        finer = "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}[.,][0-9]{7,}.*"
        finer_reason = lit("has more fraction digits than the microseconds a timestamp holds (it is never rounded)")
        return (f"CASE WHEN regexp_full_match({v}, {lit(finer)}) THEN {finer_reason} "
                f"ELSE {lit(f'is not a valid timestamp (ISO 8601{extra})')} END")
    if col.type == "decimal":
        precision, scale = col.precision_scale
        fmt = entity.format
        ts = f", thousands separator {fmt.thousands_separator!r}" if fmt.thousands_separator else ""
        shape = lit(f"is not a valid decimal (decimal separator {fmt.decimal_separator!r}{ts})")
        fits = lit(f"does not fit DECIMAL({precision},{scale}) (at most {precision - scale} integer and {scale} "
                   "fraction digits; values are never rounded)")
        _, loose, grouped = decimal_patterns(entity, col)
        looks = f"regexp_full_match({v}, {lit(loose)})" + (f" OR regexp_full_match({v}, {lit(grouped)})" if grouped else "")
        return f"CASE WHEN {looks} THEN {fits} ELSE {shape} END"
    if col.type == "boolean":
        return lit("is not a valid boolean (true/false/1/0/yes/no)")
    if col.type == "integer":
        return (f"CASE WHEN regexp_full_match({v}, '[+-]?[0-9]+') THEN "
                f"{lit('is out of the integer range (a 64-bit integer: at most 9223372036854775807 either way)')} "
                f"ELSE {lit('is not a valid integer')} END")
    return lit(f"is not a valid {col.type}")


class ColumnSql:
    """The generated SQL pieces of one column (names of the projected helper columns)."""

    def __init__(self, entity: Entity, col: Column, index: int, json: bool, marked: bool = False):
        self.entity, self.col, self.json, self.marked = entity, col, json, marked
        self.src = ident(col.name)
        self.s, self.r, self.v, self.t, self.k, self.ok = (ident(f"_{s}{index}") for s in ("s", "r", "v", "t", "k", "ok"))
        self.n = ident(f"_n{index}")
        self.pk = ident(f"_pk{index}")  # JSON sources: why the record gives no value (readers.json_columns_sql)

    # layer 1a: the value's text (JSON: decoded by kind) and, for JSON, its kind
    def decode_layer(self) -> list[str]:
        if not self.json:
            return []
        j = f"({self.src}::VARCHAR)"
        # only the careful routes mark numbers: elsewhere a string starting with U+0001 is a string
        marked = f"starts_with({j}, {lit(_MARKED)})" if self.marked else "false"
        kind = (f"CASE WHEN {self.src} IS NULL OR {j} = 'null' THEN NULL "
                f"WHEN {marked} THEN 'number' "
                f"WHEN starts_with({j}, '\"') THEN 'string' WHEN starts_with({j}, '{{') THEN 'object' "
                f"WHEN starts_with({j}, '[') THEN 'array' WHEN {j} = 'true' OR {j} = 'false' THEN 'boolean' "
                f"ELSE 'number' END")
        text = (f"CASE WHEN {marked} THEN {j}[{len(NUMBER_MARK) + 2}:-2] "
                f"WHEN starts_with({j}, '\"') THEN CASE WHEN contains({j}, '\\') "
                f"THEN json_extract_string({self.src}, '$') ELSE {j}[2:-2] END "
                f"WHEN starts_with({j}, '{{') OR starts_with({j}, '[') THEN NULL ELSE {j} END")
        return [f"{text} AS {self.s}", f"{kind} AS {self.k}"]

    # layer 1b: trimmed text
    def trim_layer(self) -> str:
        text = self.s if self.json else self.src
        return f"{trimmed(text) if _trim(self.entity, self.col) else text} AS {self.r}"

    # layer 1c: NULL for empty and null tokens
    def token_layer(self) -> str:
        tokens = ("",) + tuple(t for t in _tokens(self.entity, self.col) if t != "")
        blank = one_of(self.r, tokens)
        if not _trim(self.entity, self.col):  # an untrimmed blank cell is no value either (spaces kept only around text)
            blank = f"({blank} OR trim({self.r}, ' \t') = '')"
        return f"CASE WHEN {blank} THEN NULL ELSE {self.r} END AS {self.v}"

    # layer 1d (JSON integer and decimal columns): a number written with an exponent, as plain digits
    def number_layer(self) -> str | None:
        if not self.json or self.col.type not in ("integer", "decimal"):
            return None
        return (f"CASE WHEN {self.k} = 'number' AND (contains({self.v}, 'e') OR contains({self.v}, 'E')) "
                f"THEN coalesce({plain_number_sql(self.v)}, {self.v}) ELSE {self.v} END AS {self.n}")

    # layer 2: typed value
    def typed_layer(self) -> str:
        text = self.n if self.number_layer() else self.v
        return f"{typed_sql(self.entity, self.col, text, self.k if self.json else None)} AS {self.t}"

    def _shown_json(self) -> str:
        """The JSON text of the value as the file wrote it (marked numbers shown as numbers again)."""
        text = f"{self.src}::VARCHAR"
        return unmark_numbers_sql(text) if self.marked else text

    def kind_bad(self) -> str:
        if not self.json:
            return "false"
        return f"(coalesce(NOT {one_of(self.k, JSON_KINDS[self.col.type])}, false) OR {self.pk} IS NOT NULL)"

    def _backslash_quote(self) -> str | None:
        """SQL flag: a text value that runs over lines and holds a backslash before a quote, under the default escape
        (the quote doubled). That is how a backslash-escaped export (MySQL's ``\\"``) reads as RFC 4180: the escaped
        quote closes nothing, and the next records join the value until a quote closes it; loaded, those records
        would be gone without a word. None where it cannot happen (JSON, a declared escape, non-text columns)."""
        fmt = self.entity.format
        if self.json or self.col.type != "string" or fmt.escape_char != fmt.quote:
            return None
        return (f"(contains({self.v}, {lit(chr(92) + fmt.quote)}) AND "
                f"(contains({self.v}, chr(10)) OR contains({self.v}, chr(13))))")

    def _checks(self) -> list[str]:
        col = self.col
        checks = []
        if self._backslash_quote():
            checks.append(f"NOT {self._backslash_quote()}")
        if col.accepted_values is not None:
            checks.append(one_of(self.v, col.accepted_values))
        if col.pattern:
            checks.append(f"regexp_full_match({self.v}, {lit(col.pattern)})")
        return checks

    # layer 3: ok flag
    def ok_layer(self) -> str:
        present = " AND ".join([f"{self.t} IS NOT NULL", *self._checks()])
        missing = "false" if self.col.required else "true"
        return f"(NOT {self.kind_bad()} AND CASE WHEN {self.v} IS NULL THEN {missing} ELSE {present} END) AS {self.ok}"

    def error(self) -> str:
        """SQL of this column's message, NULL when it passed (only evaluated for failed rows)."""
        col = self.col
        shown = _visible(f"left({self.v}, {_MAX_SHOWN})")

        def msg(problem_sql: str) -> str:
            return f"concat({lit(col.name + ': ' + chr(39))}, {shown}, {lit(chr(39) + ' ')}, {problem_sql})"

        branches = []
        if self.json:
            branches.append(f"WHEN {self.pk} IS NOT NULL THEN concat({lit(col.name + ': ')}, {self.pk})")
            branches.append(f"WHEN {self.kind_bad()} THEN concat({lit(col.name + ': ')}, 'a JSON ', {self.k}, ' (', "
                            f"left({self._shown_json()}, {_MAX_SHOWN}), "
                            f"') where {_article(col.type)} {col.type} is declared')")
        branches.append(f"WHEN {self.ok} THEN NULL")
        branches.append(f"WHEN {self.v} IS NULL THEN {lit(col.name + ': missing required value')}")
        if col.type != "string":
            text = self.n if self.number_layer() else self.v  # 1e-7 is a decimal that does not fit, not a non-decimal
            branches.append(f"WHEN {self.t} IS NULL THEN {msg(_cast_problem(self.entity, col, text))}")
        if self._backslash_quote():
            branches.append(f"WHEN {self._backslash_quote()} THEN {lit(col.name + ': ' + BACKSLASH_QUOTE)}")
        if col.accepted_values is not None:
            values = ", ".join(col.accepted_values)
            branches.append(f"WHEN NOT {one_of(self.v, col.accepted_values)} "
                            f"THEN {msg(lit(f'is not one of the accepted values [{values}]'))}")
        if col.pattern:
            branches.append(f"WHEN NOT regexp_full_match({self.v}, {lit(col.pattern)}) "
                            f"THEN {msg(lit(f'does not match pattern {col.pattern!r}'))}")
        return "CASE " + " ".join(branches) + " END"


BACKSLASH_QUOTE = ("a value running over lines holds a backslash before a quote: a backslash-escaped export (as MySQL "
                   "writes), whose next records would join this value? declare escape: '\\' in the contract")
REPEATED_HEADER = "the record repeats the header line (two exports joined into one file?)"


def header_echo_sql(entity: Entity, header: list[str], mapped: dict[str, int]) -> str | None:
    """SQL flag (never NULL) over a CSV source's contract-named text columns: the record holds, in every column
    the file maps (``mapped``: contract column -> position in ``header``), exactly that column's header text: the
    header line again, as when two exports are joined with ``cat``. Such a record is quarantined
    (``REPEATED_HEADER``) instead of loading the column names as values (an all-string contract would take it).
    None without a header row or with fewer than two mapped columns (one value equal to its column's name can
    be real data)."""
    if entity.format.type != "csv" or not entity.format.header or len(mapped) < 2:
        return None
    same = " AND ".join(f"{ident(name)} = {lit(header[pos])}" for name, pos in sorted(mapped.items()))
    return f"coalesce({same}, false)"


def validated_select_sql(entity: Entity, source: str, json: bool, doc_ok: str | None = None,
                         shape: tuple[str, str] | None = None, echo: str | None = None,
                         numbers_marked: bool = False) -> str:
    """SELECT over ``source`` (columns ``_rn, _file, _extra`` and one text/JSON column per contract column,
    named like it; JSON sources also ``_doc_ok``) adding the typed values ``_t<i>``, ``_ok`` and, computed
    only where they are used (for failed rows), ``_errs`` (all messages) and ``_first`` (first failed
    column). ``shape``: (ok flag, message) SQL of a record-level check that replaces the column messages;
    ``echo``: a repeated-header flag (``header_echo_sql``), a record-level failure of its own;
    ``numbers_marked``: the JSON source's numbers were rewritten by ``readers.exact_numbers_sql``."""
    cols = [ColumnSql(entity, c, i, json, numbers_marked) for i, c in enumerate(entity.columns)]
    layer1a = ", ".join(x for c in cols for x in c.decode_layer())
    layer1b = ", ".join(c.trim_layer() for c in cols)
    layer1c = ", ".join(c.token_layer() for c in cols)
    layer1d = ", ".join(x for c in cols if (x := c.number_layer()))
    layer2 = ", ".join(c.typed_layer() for c in cols)
    layer3 = ", ".join(c.ok_layer() for c in cols)
    row_flag = doc_ok or (shape[0] if shape else None)
    row_ok = " AND ".join([c.ok for c in cols] + ([row_flag] if row_flag else []) + ([f"NOT {echo}"] if echo else []))
    errors = "concat_ws('; ', " + ", ".join(c.error() for c in cols) + ")"
    if doc_ok:
        errors = f"CASE WHEN NOT {doc_ok} THEN {lit(NOT_OBJECT)} ELSE {errors} END"
    first = "coalesce(" + ", ".join(f"CASE WHEN NOT {c.ok} THEN {lit(c.col.name)} END" for c in cols) + ")"
    if echo:
        errors = f"CASE WHEN {echo} THEN {lit(REPEATED_HEADER)} ELSE {errors} END"
        first = f"CASE WHEN NOT {echo} THEN {first} END"
    if shape:
        errors = f"CASE WHEN NOT {shape[0]} THEN {shape[1]} ELSE {errors} END"
        first = f"CASE WHEN {shape[0]} THEN {first} END"
    decoded = f"SELECT *, {layer1a} FROM ({source})" if layer1a else source
    tokens = f"SELECT *, {layer1c} FROM (SELECT *, {layer1b} FROM ({decoded}))"
    if layer1d:
        tokens = f"SELECT *, {layer1d} FROM ({tokens})"
    return f"""SELECT *, CASE WHEN NOT _ok THEN {errors} END AS _errs, CASE WHEN NOT _ok THEN {first} END AS _first
    FROM (SELECT *, {row_ok} AS _ok FROM (SELECT *, {layer3} FROM (SELECT *, {layer2} FROM ({tokens}))))"""


NOT_OBJECT = "<not a JSON object>"


def _targets(entity: Entity) -> tuple[str, str]:
    target = ", ".join(ident(c.name) for c in entity.columns)
    typed = ", ".join(ident(f"_t{i}") for i in range(len(entity.columns)))
    return target, typed


_META = "_load_id, _source_file, _source_line, _loaded_at, _extra_columns"


def good_rows_insert_sql(entity: Entity, validated: str, load_id: str, loaded_at: str) -> str:
    """``INSERT INTO`` the raw table the rows of ``validated`` that passed (the fast routes: failed rows are
    recovered afterwards from the lines that are missing, so nothing has to be deleted again)."""
    target, typed = _targets(entity)
    # The streaming window is an optimizer barrier: a filter pushed down through the validation layers
    # would inline (and so repeat) every layer's expressions into the filter.
    return (f"INSERT INTO {entity.qualified_raw_table} ({target}, {_META}) SELECT {typed}, {lit(load_id)}, _file, _rn, "
            f"{loaded_at}::TIMESTAMP, _extra FROM (SELECT *, row_number() OVER () AS _barrier FROM ({validated})) WHERE _ok")


def marked_rows_insert_sql(entity: Entity, validated: str, good_marker: str, bad_marker: str, loaded_at: str,
                           raw: str | None = None) -> str:
    """``INSERT INTO`` the raw table every row of ``validated``: failed rows get ``bad_marker`` and, in
    ``_extra_columns``, ``{"errors", "column"[, "raw"]}``; the loader moves them to quarantine in the same
    transaction (the careful routes)."""
    target, typed = _targets(entity)
    raw_part = f", 'raw', {raw}" if raw else ""
    return (f"INSERT INTO {entity.qualified_raw_table} ({target}, {_META}) SELECT {typed}, "
            f"CASE WHEN _ok THEN {lit(good_marker)} ELSE {lit(bad_marker)} END, _file, _rn, {loaded_at}::TIMESTAMP, "
            f"CASE WHEN _ok THEN _extra ELSE json_object('errors', _errs, 'column', _first{raw_part}) END "
            f"FROM ({validated})")
