"""The dbt project's engine seam (macros/cross_db/) is the only place that speaks an engine's dialect.

Static checks, no database:
- every SQL file of models/, macros/ and analyses/ outside macros/cross_db/ is scanned for a deny-list of
  functions and syntax whose spelling or meaning differs between DuckDB, PostgreSQL 15 and Spark SQL 3.5;
  a hit fails naming the file, the line and the macro to use instead. SQL inside Jinja string literals
  (the snippets handed to macros, `{% set %}` fragments) is scanned too; Jinja code, comments and SQL
  string literals are not;
- every dispatch macro in macros/cross_db/ lives in a file of its own name and has a DuckDB (`duckdb__`
  or `default__`), a `postgres__` and a `spark__` implementation;
- no `adapter.dispatch` outside macros/cross_db/.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
SQL_DIRS = ("models", "macros", "analyses")
CROSS_DB = PROJECT_DIR / "macros" / "cross_db"
ENGINES = ("postgres", "spark")

# Dispatches that are not SQL dialect but live elsewhere on purpose (path -> why).
# None today: python_table_type, the type spelling of the Python-written tables' DDL, is in macros/cross_db/.
DISPATCH_ELSEWHERE: dict[str, str] = {}


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern
    instead: str


def _rule(name: str, pattern: str, instead: str) -> Rule:
    return Rule(name, re.compile(pattern, re.IGNORECASE), instead)


DENY = (
    _rule("QUALIFY", r"\bqualify\b", "row_number() in a subquery, filtered outside"),
    _rule("DISTINCT ON", r"\bdistinct\s+on\s*\(", "group by / row_number() in a subquery"),
    _rule("GROUP BY ALL", r"\bgroup\s+by\s+all\b", "list the grouping columns"),
    _rule("SELECT * EXCLUDE/REPLACE/COLUMNS", r"\*\s*(exclude|replace)\b|\bcolumns\s*\(", "name the columns"),
    _rule("double-colon cast", r"::", "cast(x as <type>)"),
    _rule("aggregate FILTER", r"\bfilter\s*\(\s*where\b", "an aggregate over case when ... end"),
    _rule("IGNORE NULLS", r"\bignore\s+nulls\b", "last_value_ignore_nulls()"),
    _rule("median / quantiles", r"\b(median|quantile\w*|percentile\w*|approx_\w+)\s*\(", "median()"),
    _rule("any_value / arg_max", r"\b(any_value|arbitrary|arg_max|arg_min|argmax|argmin|max_by|min_by|first|last)\s*\(",
          "any_value_of(), or row_number() in a subquery"),
    _rule("string/list aggregation",
          r"\b(string_agg|listagg|group_concat|array_agg|list|collect_list|collect_set|array_join|histogram)\s*\(",
          "string_agg_distinct()"),
    _rule("string similarity",
          r"\b(jaro\w*|levenshtein|damerau\w*|hamming|jaccard|editdist\w*|mismatches|similarity|soundex|metaphone)\s*\(",
          "edit_distance() / name_similarity()"),
    _rule("accent folding", r"\b(strip_accents|unaccent|normalize|nfc_normalize)\s*\(", "strip_accents()"),
    _rule("date part functions",
          r"\b(year|month|day|quarter|week|weekofyear|weekday|yearweek|dayofweek|dayofmonth|dayofyear|isodow|isoyear|"
          r"hour|minute|second|extract|date_part|datepart)\s*\(", "date_part_number()"),
    _rule("epoch", r"\bepoch\w*", "hours_between() / days_between()"),
    _rule("date functions",
          r"\b(date_trunc|datetrunc|date_diff|datediff|date_sub|date_add|dateadd|last_day|trunc|make_date|make_timestamp|"
          r"to_date|to_timestamp|to_char|strftime|strptime|date_format|age|unix_timestamp|from_unixtime|now|today|"
          r"current_timestamp)\s*\(", "days_between() / hours_between() / add_days() / month_start() / month_end()"),
    _rule("INTERVAL", r"\binterval\b", "add_days() and the date macros"),
    _rule("series / unnest", r"\b(generate_series|range|sequence|unnest|explode|posexplode|generate_subscripts)\s*\(",
          "date_spine_days()"),
    _rule("regular expressions", r"\b(regexp_\w+|rlike|regexp|ilike|glob|similar\s+to)\b|!?~\*?",
          "regexp_replace_all() / regexp_matches() / regexp_extract_group()"),
    _rule("JSON / struct / list / map functions",
          r"\b(json\w*|to_json|from_json|row_to_json|struct_\w+|named_struct|struct_pack|list_\w+|array_\w+|map_\w+|map|"
          r"struct|element_at|cardinality)\s*\(|->>?", "json_object_from()"),
    _rule("hash functions", r"\b(sha256|sha2|sha1|md5|hash|encode|digest|crc32|xxhash\w*)\s*\(", "sha256_hex() / hash_pii()"),
    _rule("substring search", r"\b(strpos|instr|locate|charindex)\s*\(", "dbt.position()"),
    _rule("engine-specific type names",
          r"\b(varchar|nvarchar|hugeint|uhugeint|ubigint|uinteger|usmallint|utinyint|tinyint|double|float4|float8|"
          r"bytea|jsonb|timestamptz|timestamp_ntz|timestamp_ltz)\b|\bas\s+(text|string|real|float|json|blob|uuid|int\d)\b",
          "dbt.type_string() / type_double() (integer, bigint, boolean, date, timestamp, decimal(p, s) are portable)"),
    _rule("double-quoted identifier", r'"', "adapter.quote('name') (Spark reads \"...\" as a string)"),
    _rule("engine conditionals", r"\b(if|iif|ifnull|nvl|nvl2|decode|zeroifnull)\s*\(|\b(isnull|notnull)\b",
          "case when / coalesce()"),
    _rule("string functions that differ", r"\b(concat|concat_ws|len|format|printf|string_split|str_split|split|"
          r"regexp_split_to_\w+|try_cast|safe_cast|log)\s*\(", "|| (concat skips NULLs except on Spark), length(), ln()"),
    _rule("integer division operator", r"(?<!:)//", "x * 1.0 / y"),
    _rule("LATERAL / PIVOT / ASOF", r"\b(lateral|pivot|unpivot|asof|positional)\b", "joins and case when"),
    _rule("random values", r"\b(random|rand|uuid|gen_random_uuid)\s*\(", "deterministic SQL"),
)


# ------------------------------------------------------------------------------------ scanning
_JINJA = re.compile(r"\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_JINJA_STRING = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"", re.DOTALL)


def _blank(text: str) -> str:
    """Same length, newlines kept: line numbers stay valid."""
    return re.sub(r"[^\n]", " ", text)


def _sql_code(text: str) -> str:
    """SQL outside Jinja with `--` comments and string-literal contents blanked."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "'":
            j = i + 1
            while j < n and not (text[j] == "'" and (j + 1 >= n or text[j + 1] != "'")):
                j += 2 if text[j] == "'" else 1
            out.append("'" + _blank(text[i + 1:j]) + "'")
            i = j + 1
        elif text.startswith("--", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(_blank(text[i:j]))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def scannable_sql(text: str) -> str:
    """The text with everything that is not SQL blanked: Jinja comments and code, SQL comments and literals.

    SQL passed to macros inside Jinja string literals ('coalesce(a, b)') is kept, at its own position.
    """
    pieces: list[str] = []
    last = 0
    for match in _JINJA.finditer(text):
        pieces.append(_sql_code(text[last:match.start()]))
        block = match.group(0)
        if block.startswith("{#"):
            pieces.append(_blank(block))
        else:
            kept = list(_blank(block))
            for string in _JINJA_STRING.finditer(block):
                start = string.start() + 1
                contents = string.group(1) if string.group(1) is not None else string.group(2)
                # a Jinja string holding SQL may itself hold SQL string literals: blank their contents
                kept[start:start + len(contents)] = _sql_code(contents)
            pieces.append("".join(kept))
        last = match.end()
    pieces.append(_sql_code(text[last:]))
    return "".join(pieces)


def violations(path: Path, root: Path = PROJECT_DIR) -> list[str]:
    """One line per deny-list hit: `<path relative to root>:<line>: <rule>: <source line>  -> use <macro>`."""
    text = path.read_text(encoding="utf-8")
    sql = scannable_sql(text)
    found = []
    for number, (line, original) in enumerate(zip(sql.splitlines(), text.splitlines()), start=1):
        for rule in DENY:
            if rule.pattern.search(line):
                found.append(f"{path.relative_to(root)}:{number}: {rule.name}: {original.strip()}"
                             f"  -> use {rule.instead}")
    return found


def _sql_files() -> list[Path]:
    files = [p for d in SQL_DIRS for p in sorted((PROJECT_DIR / d).rglob("*.sql"))]
    return [p for p in files if CROSS_DB not in p.parents]


# --------------------------------------------------------------------------------- the scanner itself
@pytest.mark.parametrize("sql, hits", [
    ("select x from t qualify row_number() over () = 1", ["QUALIFY"]),
    ("select median(x) from t", ["median / quantiles"]),
    ("select {{ median('x') }} from t", []),
    ("select {{ add_days('cast(x as varchar)', 1) }}", ["engine-specific type names"]),
    ("select 'qualify median(' as label -- median(x)", []),
    ("{#- median(x) -#} select 1", []),
    ("select x::date, y ~ 'a' from t", ["double-colon cast", "regular expressions"]),
    ("{% set s = \"regexp_replace(\" ~ e ~ \", 'a', 'b')\" %}", ["regular expressions"]),
    ("select \"description\" from t", ["double-quoted identifier"]),
    ("select cast(x as {{ dbt.type_string() }}), cast(y as decimal(18, 4)) from t", []),
    ("select last_value(x ignore nulls) over (order by d) from t", ["IGNORE NULLS"]),
])
def test_scanner_flags_engine_specific_sql(sql, hits, tmp_path):
    """The scanner sees SQL (also inside Jinja strings) and ignores Jinja code, comments and literals."""
    path = tmp_path / "x.sql"
    path.write_text(sql, encoding="utf-8")
    found = violations(path, tmp_path)
    assert sorted({f.split(": ")[1] for f in found}) == sorted(hits), found


# --------------------------------------------------------------------------------- the project
def test_no_engine_specific_sql_outside_cross_db():
    files = _sql_files()
    assert len(files) > 60, "the scan found too few SQL files: wrong project layout?"
    found = [v for path in files for v in violations(path)]
    assert not found, "engine-specific SQL outside macros/cross_db/:\n" + "\n".join(found)


_DISPATCH = re.compile(r"adapter\.dispatch\(\s*['\"](\w+)['\"]")
_MACRO = re.compile(r"\{%-?\s*macro\s+(\w+)\s*\(")


def _cross_db_macros() -> dict[str, tuple[Path, set[str]]]:
    """dispatch name -> (file, names of the macros defined in that file)."""
    out: dict[str, tuple[Path, set[str]]] = {}
    for path in sorted(CROSS_DB.glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        for name in _DISPATCH.findall(text):
            assert name not in out, f"{name} dispatched in {out[name][0].name} and {path.name}"
            out[name] = (path, set(_MACRO.findall(text)))
    return out


def test_every_cross_db_macro_has_an_implementation_per_engine():
    macros = _cross_db_macros()
    assert len(macros) >= 20
    missing = []
    for name, (path, defined) in macros.items():
        if path.stem != name:
            missing.append(f"{path.name}: dispatches {name}; one file per function, named after it")
        if name not in defined:
            missing.append(f"{path.name}: no macro {name}()")
        if not {f"duckdb__{name}", f"default__{name}"} & defined:
            missing.append(f"{path.name}: no duckdb__{name} / default__{name}")
        missing += [f"{path.name}: no {engine}__{name}" for engine in ENGINES if f"{engine}__{name}" not in defined]
    assert not missing, "\n".join(missing)


def test_every_cross_db_file_is_one_dispatch_macro():
    macros = _cross_db_macros()
    files = {p.stem for p in CROSS_DB.glob("*.sql")}
    assert files == set(macros), f"files without a dispatch macro: {sorted(files - set(macros))}"


def test_no_dispatch_outside_cross_db():
    found = []
    for path in (PROJECT_DIR / "macros").rglob("*.sql"):
        if CROSS_DB in path.parents:
            continue
        relative = path.relative_to(PROJECT_DIR).as_posix()
        for name in _DISPATCH.findall(path.read_text(encoding="utf-8")):
            if DISPATCH_ELSEWHERE.get(relative) != name:
                found.append(f"{relative}: adapter.dispatch('{name}') belongs in macros/cross_db/{name}.sql")
    assert not found, "\n".join(found)
