"""The macros/cross_db implementations (and the portable staging macros built on them) give the same
answers on every engine: each case is a SELECT written once with the project's macros, rendered per engine
and run there; the result must equal the expected value written in the case.

- DuckDB: always (in-process).
- PostgreSQL 15: when the server binaries (initdb, pg_ctl) and psycopg2 are installed; the test starts a
  throwaway server on 127.0.0.1 and stops it afterwards. Otherwise skipped.
- Spark SQL 3.5: when pyspark is importable (local[1] session). Otherwise skipped.

Rendering: dbt is not needed (its adapters for PostgreSQL and Spark are not installed here). A small Jinja
environment loads the macro files and emulates the three dbt features they use: `return()`,
`adapter.dispatch` (`<engine>__` then `default__`, DuckDB also `duckdb__`) and the `smb_warehouse.`
namespace, plus `target.schema` (public), `dbt.type_string()` / `dbt.position()` / `ref()` / `var()` / `env_var()` / `modules.re` as dbt renders them.
"""
# ruff: noqa: E501  (the SQL of a case reads best unbroken)
from __future__ import annotations

import datetime
import decimal
import hashlib
import hmac
import json
import os
import re
from pathlib import Path

import duckdb
import jinja2
import pytest

ROOT = Path(__file__).resolve().parents[2]


class MacroReturn(Exception):
    def __init__(self, value):
        self.value = value


def _return(value):
    raise MacroReturn(value)


class Env:
    def __init__(self, engine):
        self.engine = engine
        self.env = jinja2.Environment(extensions=["jinja2.ext.do"])
        self.macros = {}
        ns = self
        glob = {
            "return": _return,
            "adapter": type("A", (), {"dispatch": lambda s, name, pkg=None: ns.dispatch(name),
                                       "quote": lambda s, x: f'`{x}`' if engine == "spark" else f'"{x}"'})(),
            "smb_warehouse": type("N", (), {"__getattr__": lambda s, name: ns.wrap(name)})(),
            "dbt": type("D", (), {"type_string": lambda s: {"duckdb": "text", "postgres": "text", "spark": "string"}[engine],
                                  "position": lambda s, a, b: f"position({a} in {b})"})(),
            "exceptions": type("E", (), {"raise_compiler_error": lambda s, m: (_ for _ in ()).throw(RuntimeError(m))})(),
            "target": type("T", (), {"schema": "public", "type": engine})(),
            "ref": lambda name: name,
            "var": lambda name, default=None: {"base_currency": "EUR"}.get(name, default),
            "env_var": lambda name, default=None: os.environ.get(name, default),
            "modules": type("M", (), {"re": re})(),
        }
        self.env.globals.update(glob)
        files = sorted((ROOT / "macros" / "cross_db").glob("*.sql")) + [
            ROOT / "macros/staging/to_base_currency.sql", ROOT / "macros/staging/normalize_phone_e164.sql",
            ROOT / "macros/staging/normalize_text.sql", ROOT / "macros/marts/legal_form.sql", ROOT / "macros/marts/pii.sql"]
        for f in files:
            module = self.env.from_string(f.read_text()).make_module()
            for name in dir(module):
                obj = getattr(module, name)
                if isinstance(obj, jinja2.runtime.Macro):
                    self.macros[name] = obj
        self.env.globals.update({n: self.wrap(n) for n in self.macros})

    def wrap(self, name):
        def call(*args, **kwargs):
            try:
                return str(self.macros[name](*args, **kwargs))
            except MacroReturn as r:
                return r.value if not isinstance(r.value, jinja2.runtime.Markup) else str(r.value)
        return call

    def dispatch(self, name):
        for prefix in ((["duckdb__"] if self.engine == "duckdb" else [f"{self.engine}__"]) + ["default__"]):
            if prefix + name in self.macros:
                return self.wrap(prefix + name)
        raise KeyError(name)

    def render(self, text):
        types = {"duckdb": ("varchar", "double"), "postgres": ("text", "double precision"), "spark": ("string", "double")}
        string, double = types[self.engine]
        return self.env.from_string(text.replace("@S@", string).replace("@T@", double)).render()


# (template of a full SELECT, expected rows as list of tuples) - written once, rendered per engine
HMAC_TEST_KEY = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
T = "@T@"
S = "@S@"
NL = "chr(10)"
CASES = {
    "days_between": ("select {{ days_between(\"cast('2024-01-01' as date)\", \"cast('2024-03-01' as date)\") }}, "
                     "{{ days_between(\"cast('2024-01-01 23:00:00' as timestamp)\", \"cast('2024-01-02 01:00:00' as timestamp)\") }}",
                     [(60, 1)]),
    "hours_between": ("select {{ hours_between(\"cast('2024-01-01 08:00:00.100' as timestamp)\", \"cast('2024-01-01 10:30:00.900' as timestamp)\") }}",
                      [(2.5,)]),
    "month_start_end": ("select {{ month_start(\"cast('2024-02-17' as date)\") }}, {{ month_start(\"cast('2024-02-17 23:30:00' as timestamp)\") }}, "
                        "{{ month_end(\"cast('2024-02-03' as date)\") }}, {{ month_end(\"cast('2023-12-31 23:00:00' as timestamp)\") }}",
                        [("2024-02-01", "2024-02-01", "2024-02-29", "2023-12-31")]),
    "add_days": ("select {{ add_days(\"cast('2024-01-31' as date)\", 30) }}, {{ add_days(\"cast('2024-03-01' as date)\", -14) }}",
                 [("2024-03-01", "2024-02-16")]),
    "date_spine": ("select count(*), min(date_day), max(date_day) from ({{ date_spine_days('2024-02-27', '2024-03-02') }}) as s",
                   [(5, "2024-02-27", "2024-03-02")]),
    "date_spine_between": ("select count(*), min(date_day), max(date_day), count(distinct date_day) from ({{ date_spine_between("
                           "\"(select cast('2024-02-27' as date) as a, cast('2024-03-02 10:00:00' as timestamp) as b "
                           "union all select cast('2031-12-31' as date), cast('2032-01-01' as date) "
                           "union all select cast(null as date), cast('2032-01-01' as date)) as bounds\", 'a', 'b') }}) as s",
                           [(7, "2024-02-27", "2032-01-01", 7)]),
    "asof_join_latest": ("select k, d, qty from ({{ asof_join_latest("
                         "\"(select 'a' as k, cast('2024-01-01' as date) as d union all select 'a', cast('2024-01-05' as date) "
                         "union all select 'a', cast('2024-01-09' as date) union all select 'a', cast('2024-01-12' as date) "
                         "union all select 'b', cast('2024-01-09' as date))\", "
                         "\"(select 'a' as k, cast('2024-01-05' as date) as snap, 5 as qty union all select 'a', cast('2024-01-10' as date), 7 "
                         "union all select 'c', cast('2024-01-01' as date), 9)\", "
                         "['k'], 'd', 'snap', ['qty']) }}) as j order by k, d",
                         [("a", "2024-01-01", None), ("a", "2024-01-05", 5), ("a", "2024-01-09", 5), ("a", "2024-01-12", 7), ("b", "2024-01-09", None)]),
    "date_parts": ("select " + ", ".join(f"{{{{ date_part_number('{p}', \"cast('2024-12-30' as date)\") }}}}"
                                        for p in ("year", "quarter", "month", "day", "isodow", "isoweek"))
                   + ", {{ date_part_number('isodow', \"cast('2024-03-17' as date)\") }}, {{ date_part_number('isoweek', \"cast('2027-01-01' as date)\") }}",
                   [(2024, 4, 12, 30, 1, 1, 7, 53)]),
    "median": ("select {{ median('x') }} from (select 1 as x union all select 2 union all select 4 union all select null) as t",
               [(2.0,)]),
    "median_even": ("select {{ median('x') }} from (select 1 as x union all select 2) as t", [(1.5,)]),
    "any_value_of": ("select {{ any_value_of('x') }} from (select cast(null as integer) as x union all select 3) as t", [(3,)]),
    "string_agg_distinct": ("select {{ string_agg_distinct('x', '+') }} from (select 'supplier' as x union all select 'ref' "
                            "union all select 'ref' union all select cast(null as " + S + ")) as t", [("ref+supplier",)]),
    "string_agg_distinct_nulls": ("select {{ string_agg_distinct('x', '+') }} from (select cast(null as " + S + ") as x) as t", [(None,)]),
    "last_value_ignore_nulls": ("select k, {{ last_value_ignore_nulls('x', 'g', 'k') }} from (select 1 as g, 1 as k, 5 as x "
                                "union all select 1, 2, null union all select 1, 3, 7 union all select 1, 4, null "
                                "union all select 2, 1, null union all select 2, 2, 9) as t order by g, k",
                                [(1, 5), (2, 5), (3, 7), (4, 7), (1, None), (2, 9)]),
    "regexp_replace_all": ("select {{ regexp_replace_all(\"'  a   b  '\", '\\\\s+', ' ') }}, "
                           "{{ regexp_replace_all(\"'hello' || " + NL + " || 'Regards, Bob'\", '(?i)regards,[^\\\\n]*$', '') }}, "
                           "{{ regexp_replace_all(\"'x regards, a' || " + NL + " || 'b'\", '(?i)regards,[^\\\\n]*$', '') }}, "
                           "{{ regexp_replace_all(\"'hi REGARDS, Bob' || " + NL + "\", '(?i)regards,[^\\\\n]*$', '') }}, "
                           "{{ normalize_domain(\"'HTTPS://www.Example.com:8080/a?b'\") }}, "
                           "{{ normalize_domain(\"'example.com/a' || " + NL + " || 'b'\") }}, "
                           "{{ legal_name(\"'Keller Bau GmbH & Co. KG'\") }}, {{ legal_form(\"'Keller Bau GmbH & Co. KG'\") }}, "
                           "{{ legal_form(\"'Acme'\") }}, {{ normalize_vat_id(\"'de 123.456-789'\") }}",
                           [(" a b ", "hello\n", "x regards, a\nb", "hi REGARDS, Bob\n", "example.com", "example.com/a\nb",
                             "Keller Bau", "GmbH & Co. KG", None, "DE123456789")]),
    "regexp_matches": ("select {{ regexp_matches(\"'PO-123456'\", '^PO-[0-9]{6}$') }}, "
                       "{{ regexp_matches(\"'PO-123456' || " + NL + "\", '^PO-[0-9]{6}$') }}, {{ regexp_matches(\"'XPO-1234567'\", 'PO-[0-9]{6}') }}",
                       [(True, False, True)]),
    "sha256_hex": ("select {{ sha256_hex(\"'abc'\") }}, {{ sha256_hex('cast(null as " + S + ")') }}, {{ sha256_hex(\"'Müller'\") }}",
                   [("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", None,
                     "a78429899bb825ce667d25d92e2cde488f8a7d6871bb2be7365601cad6b0a8f2")]),
    # keyed pseudonym under HMAC_TEST_KEY (set per engine in setup()); expected from Python's hmac module
    "hmac_sha256_hex": ("select {{ hmac_sha256_hex(\"'Müller'\") }}, {{ hash_pii(\"'a@b.example'\") }}, "
                        "{{ hmac_sha256_hex('cast(null as " + S + ")') }}",
                        [(hmac.new(bytes.fromhex(HMAC_TEST_KEY), "Müller".encode(), hashlib.sha256).hexdigest(),
                          hmac.new(bytes.fromhex(HMAC_TEST_KEY), b"a@b.example", hashlib.sha256).hexdigest(), None)]),
    "json_object_from": ("select {{ json_object_from({'a': '1', 'b': 'cast(null as " + S + ")', 'c': \"cast('2024-01-02' as date)\", "
                         "'d': 'cast(1.5 as decimal(18, 4))', 'e': '1 = 1', 's': \"'x'\"}) }}", "json"),
    # the same compact text on every engine (separators inside strings, escapes, non-ASCII, null, date, boolean)
    "json_object_from_text": ("select {{ json_object_from({'s': \"'a, \\\"b\\\" : c ü'\", 'n': 'cast(2 as integer)', "
                              "'d': \"cast('2024-01-02' as date)\", 'b': '1 = 0', 'z': 'cast(null as " + S + ")', "
                              "'nl': \"'x' || " + NL + "\"}) }}",
                              [('{"s":"a, \\"b\\" : c ü","n":2,"d":"2024-01-02","b":false,"z":null,"nl":"x\\n"}',)]),
    "strip_accents": ("select {{ strip_accents(\"'Müller Ñandú Łódź İstanbul Straße ÅÆØ'\") }}",
                      [("Muller Nandu Łodz Istanbul Straße AÆØ",)]),
    "edit_distance": ("select {{ edit_distance(\"'PO-000123'\", \"'PO-000124'\") }}, {{ edit_distance(\"'kitten'\", \"'sitting'\") }}", [(1, 3)]),
    "name_similarity": ("select {{ name_similarity(\"'acme'\", \"'acme'\") }}, {{ name_similarity(\"'acme gmbh'\", \"'acme'\") }} > 0, "
                        "{{ name_similarity(\"'acme gmbh'\", \"'acme'\") }} < 1", [(1.0, True, True)]),
    "bool_to_int": ("select {{ bool_to_int('1 = 1') }}, {{ bool_to_int('1 = 0') }}, {{ bool_to_int('cast(null as boolean)') }}, "
                    "cast({{ bool_to_int('1 = 1') }} as " + T + ")", [(1, 0, None, 1.0)]),
    "round_half_away": ("select {{ round_half_away_from_zero('cast(2.5 as " + T + ")') }}, {{ round_half_away_from_zero('cast(-2.5 as " + T + ")') }}, "
                        "{{ round_half_away_from_zero('cast(0.5 as " + T + ")') }}, {{ round_half_away_from_zero('cast(2.5 as decimal(18, 4))') }}",
                        [(3, -3, 1, 3)]),
    "type_double": ("select cast('0.1' as " + T + ") + cast('0.2' as " + T + ")", [(0.30000000000000004,)]),
    "to_base_currency": ("select {{ to_base_currency('amount', 'currency', 'd') }} from amounts order by amount desc",
                         [(9.0, ), (5.0,), (None,)]),
    "phone": ("select {{ normalize_phone_e164('phone', 'country') }} from phones order by k",
              [("+49304579018",), ("+12125552668",), ("+491701234567",), ("+442079460958",), ("+390612345678",), (None,)]),
}


def norm(v):
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, (datetime.date, datetime.datetime)):
        return v.isoformat()[:10] if isinstance(v, datetime.date) and not isinstance(v, datetime.datetime) else v.isoformat()
    return v


def run(engine, conn, sql):
    if engine == "duckdb":
        return conn.execute(sql).fetchall()
    if engine == "postgres":
        cur = conn.cursor()
        cur.execute(sql)
        return cur.fetchall() if cur.description else []
    return [tuple(r) for r in conn.sql(sql).collect()]


def setup(engine, conn):
    fx = "select currency, cast(rate_month as date) as rate_month, cast(rate_to_base as decimal(18, 8)) as rate_to_base from ({}) as t"
    rows = "select 'USD' as currency, '2024-03-01' as rate_month, 0.9 as rate_to_base union all select 'GBP', '2024-03-01', 1.2"
    cc = ("select 'DE' as country, '49' as calling_code, '0' as national_prefix union all select 'US', '1', '1' "
          "union all select 'GB', '44', '0' union all select 'IT', '39', cast(null as {})")
    string = {"duckdb": "varchar", "postgres": "text", "spark": "string"}[engine]
    amounts = ("select cast(10 as decimal(18, 4)) as amount, 'usd ' as currency, cast('2024-03-15' as date) as d "
               "union all select cast(5 as decimal(18, 4)), 'EUR', cast('2024-03-15' as date) "
               "union all select cast(1 as decimal(18, 4)), 'XXX', cast('2024-03-15' as date)")
    phones = ("select '030-4579018' as phone, 'DE' as country, 1 as k union all select '212.555.2668', 'US', 2 "
              "union all select '0170 1234567 ext. 12', 'DE', 3 union all select '+44 (0)20 7946 0958', 'GB', 4 "
              "union all select '06 1234 5678', 'IT', 5 union all select '12345', 'XX', 6")
    # tables, as models read them (Spark 3.5 fails to decorrelate a scalar subquery over an inline UNION ALL
    # derived table: "key not found"; over a table or view it is fine)
    # the PII hash key as each engine's session state (never in the SQL text): macros/cross_db/hmac_sha256_hex.sql
    {"duckdb": lambda: run(engine, conn, f"set variable smb_pii_hash_key = '{HMAC_TEST_KEY}'"),
     "postgres": lambda: run(engine, conn, f"set smb.pii_hash_key = '{HMAC_TEST_KEY}'"),
     "spark": lambda: None}[engine]()  # Spark reads SMB_PII_HASH_KEY from its environment: see the spark fixture
    # what the on-run-start hook runs first (PostgreSQL: fuzzystrmatch, the Jaro-Winkler function)
    for statement in [Env(engine).wrap("engine_setup")()] if engine == "postgres" else []:
        run(engine, conn, statement)
    tables = {"fx_rates": fx.format(rows), "country_calling_codes": cc.format(string), "amounts": amounts, "phones": phones}
    for table, select in tables.items():
        if engine == "spark":
            conn.sql(f"create or replace temp view {table} as {select}")
        else:
            run(engine, conn, f"drop table if exists {table}")
            run(engine, conn, f"create table {table} as {select}")



@pytest.fixture(scope="module")
def postgres():
    """An autocommit psycopg2 connection (user postgres, database postgres) to a throwaway local server
    (smb_warehouse.core.postgres_local), with fuzzystrmatch created."""
    psycopg2 = pytest.importorskip("psycopg2")
    from smb_warehouse.core import postgres_local

    if not postgres_local.server_binaries():
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not installed")
    with postgres_local.throwaway_server() as server:
        conn = psycopg2.connect(server.dsn())
        conn.autocommit = True
        conn.cursor().execute("create extension if not exists fuzzystrmatch")
        yield conn
        conn.close()


@pytest.fixture(scope="module")
def spark():
    """A local Spark session whose driver has SMB_PII_HASH_KEY in its environment (the JVM inherits the
    environment when it starts: what the hmac macro's ${env:...} reads)."""
    from tests.support import stop_spark_jvm

    pyspark_sql = pytest.importorskip("pyspark.sql")
    previous = os.environ.get("SMB_PII_HASH_KEY")
    os.environ["SMB_PII_HASH_KEY"] = HMAC_TEST_KEY
    stop_spark_jvm()   # a JVM another test started keeps the environment it started with
    try:
        session = (pyspark_sql.SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
                   .config("spark.sql.session.timeZone", "UTC").getOrCreate())
        assert session.sparkContext._jvm.System.getenv("SMB_PII_HASH_KEY") == HMAC_TEST_KEY
        yield session
        stop_spark_jvm()
    finally:
        if previous is None:
            os.environ.pop("SMB_PII_HASH_KEY", None)
        else:
            os.environ["SMB_PII_HASH_KEY"] = previous


@pytest.fixture(params=["duckdb", "postgres", "spark"])
def engine(request):
    """(engine name, connection) with the two seeds the staging macros read."""
    name = request.param
    conn = duckdb.connect() if name == "duckdb" else request.getfixturevalue(name)
    setup(name, conn)
    yield name, conn
    if name == "duckdb":
        conn.close()


@pytest.mark.parametrize("case", list(CASES))
def test_macro_gives_the_expected_answer_on_every_engine(engine, case):
    name, conn = engine
    template, expected = CASES[case]
    sql = Env(name).render(template)
    got = [tuple(norm(v) for v in row) for row in run(name, conn, sql)]
    if expected == "json":
        assert [json.loads(got[0][0])] == [{"a": 1, "b": None, "c": "2024-01-02", "d": 1.5, "e": True, "s": "x"}], sql
    else:
        assert got == [tuple(norm(v) for v in row) for row in expected], sql


@pytest.mark.parametrize("engine", ["duckdb", "postgres"], indirect=True)
def test_name_similarity_is_duckdbs_jaro_winkler(engine):
    """DuckDB and PostgreSQL give the same Jaro-Winkler values, to the bit (Spark: Levenshtein, see the macro)."""
    name, conn = engine
    sql = Env(name).render("select {{ name_similarity(\"'martha'\", \"'marhta'\") }}, {{ name_similarity(\"'müller'\", \"'muller'\") }}, "
                           "{{ name_similarity(\"''\", \"''\") }}, {{ name_similarity(\"'ab'\", \"'ba'\") }}, "
                           "{{ name_similarity(\"'acme'\", 'cast(null as " + ("varchar" if name == "duckdb" else "text") + ")') }}")
    assert run(name, conn, sql) == [(0.9611111111111111, 0.8642857142857143, 0.0, 0.0, None)]


def test_name_similarity_on_postgres_equals_duckdb_on_random_names(postgres):
    """4,000 random pairs (short and long, with multi-byte letters): PostgreSQL's function == DuckDB's built-in."""
    import random

    rnd = random.Random(16)
    def word(alphabet, lo, hi):
        return "".join(rnd.choice(alphabet) for _ in range(rnd.randint(lo, hi)))
    pairs = [(word("abcdeü é-", 0, 12), word("abcdeü é-", 0, 12)) for _ in range(3000)]
    pairs += [(word("abcd ", 40, 140), word("abcd ", 40, 140)) for _ in range(1000)]
    a, b = [p[0] for p in pairs], [p[1] for p in pairs]
    setup("postgres", postgres)
    cur = postgres.cursor()
    cur.execute("select " + Env("postgres").render("{{ name_similarity('a', 'b') }}")
                + " from unnest(%s::text[], %s::text[]) with ordinality as t(a, b, i) order by i", (a, b))
    on_postgres = [r[0] for r in cur.fetchall()]
    on_duckdb = [r[0] for r in duckdb.connect().execute(
        "select jaro_winkler_similarity(a, b) from (select unnest(?) as a, unnest(?) as b, generate_subscripts(?, 1) as i) "
        "order by i", [a, b, a]).fetchall()]
    differ = [(x, y, d, p) for (x, y), d, p in zip(pairs, on_duckdb, on_postgres) if d != p]
    assert not differ, differ[:5]


def test_hmac_refuses_to_hash_without_a_key():
    conn = duckdb.connect()
    sql = Env("duckdb").render("select {{ hmac_sha256_hex(\"'x'\") }}")
    with pytest.raises(duckdb.InvalidInputException, match="PII hash key"):
        conn.execute(sql)
    conn.execute("set variable smb_pii_hash_key = 'not-hex'")
    with pytest.raises(duckdb.InvalidInputException, match="PII hash key"):
        conn.execute(sql)
    conn.close()


def test_the_python_twin_and_the_macro_agree():
    from smb_warehouse.core import pii

    conn = duckdb.connect()
    pii.configure(conn, HMAC_TEST_KEY)
    values = ["a@b.example", "DE89370400440532013000", "Zoë Müller", ""]
    macro = Env("duckdb").render("select {{ hmac_sha256_hex('v') }} from (select unnest(?) as v, generate_subscripts(?, 1) as i) order by i")
    by_macro = [r[0] for r in conn.execute(macro, [values, values]).fetchall()]
    by_python_sql = [r[0] for r in conn.execute(f"select {pii.hmac_sql('v')} from (select unnest(?) as v, generate_subscripts(?, 1) as i) "
                                                "order by i", [values, values]).fetchall()]
    assert by_macro == by_python_sql == [pii.keyed_hash(v, HMAC_TEST_KEY) for v in values]
    conn.close()
