"""The whole dbt project on Spark (dbt-spark's `session` method, local mode) from the tiny run's inputs.

The shared tiny run's published warehouse gives the inputs: its raw and Python-written tables land as Parquet
tables in a private Spark metastore (smb_warehouse.core.spark_inputs), `dbt build --target spark` builds and
tests every model, seed, data test and unit test there, and every public mart is read back from Spark and
compared with the same mart in the published DuckDB warehouse by smb_warehouse.core.engine_compare (the same
column names and type families, row count, and rows; doubles to 12 significant digits, the tolerance
macros/cross_db/README.md states for every engine).

Marked `spark`: `make test` leaves it out; `make test-spark` installs pyspark and dbt-spark
(requirements-spark.txt) and runs it (needs Java 17). Skipped when pyspark or dbt-spark is not installed.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.spark

pytest.importorskip("pyspark", reason="pyspark is not installed (make test-spark installs requirements-spark.txt)")
pytest.importorskip("dbt.adapters.spark", reason="dbt-spark is not installed (make test-spark installs requirements-spark.txt)")

PROJECT_DIR = Path(__file__).resolve().parents[2]
# Public marts a Dagster run builds before it appends to their inputs: kpi_platform__pipeline_health reads
# ops.dbt_node_results, to which every later dbt step of the run adds its nodes. From the published inputs the
# published mart is not reproducible on any engine; Spark's is compared with the same mart rebuilt by DuckDB on a
# copy of the published warehouse instead.
REBUILT_ON_DUCKDB = ("kpi_platform__pipeline_health",)


def _dbt() -> str:
    candidate = Path(sys.executable).with_name("dbt")
    found = str(candidate) if candidate.exists() else shutil.which("dbt")
    if not found:
        pytest.skip("dbt executable not found")
    return found


def _run(cmd: list[str], env: dict[str, str], timeout: int) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def spark_build(tiny_run, tmp_path_factory):
    """(published DuckDB file, its copy with REBUILT_ON_DUCKDB rebuilt, folder of the public marts as Spark wrote
    them, what the export printed: `<schema> <table> <rows>` per mart)."""
    from smb_warehouse.core import pii
    from smb_warehouse.core.config import environment
    from smb_warehouse.core.engine_compare import rebuild_on_duckdb
    from tests.support import run_env

    work = tmp_path_factory.mktemp("spark_build")
    with environment(run_env(tiny_run["root"], tiny_run["landing"])):
        key = pii.hash_key()   # the tiny run's own key: the pseudonyms must match its marts
    env = {**os.environ, "DBT_TARGET": "spark", "DBT_SPARK_DIR": str(work / "spark"), "DBT_SPARK_SCHEMA": "smb",
           "DBT_SPARK_MASTER": os.environ.get("DBT_SPARK_MASTER", "local[2]"), "SMB_PII_HASH_KEY": key,
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "DO_NOT_TRACK": "1"}
    paths = ["--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR), "--target-path", str(work / "target"),
             "--log-path", str(work / "logs"), "--no-use-colors"]
    seconds = {}
    started = time.monotonic()
    proc = _run([_dbt(), "parse", *paths], env, 600)
    assert proc.returncode == 0, proc.stdout[-4000:]
    manifest = work / "target" / "manifest.json"
    proc = _run([sys.executable, "-m", "smb_warehouse.core.spark_inputs", str(tiny_run["published"]),
                 "--manifest", str(manifest)], env, 900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    seconds["inputs"] = time.monotonic() - started
    started = time.monotonic()
    proc = _run([_dbt(), "build", *paths], env, 3600)
    seconds["dbt build"] = time.monotonic() - started
    (work / "dbt_build.out").write_text(proc.stdout)
    assert proc.returncode == 0, proc.stdout[-12000:]
    started = time.monotonic()
    out = work / "marts"
    proc = _run([sys.executable, "-m", "smb_warehouse.core.spark_export", str(manifest), str(out)], env, 900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    exported = proc.stdout
    seconds["read back"] = time.monotonic() - started
    print(f"Spark build on the tiny run: {', '.join(f'{k} {v:.0f} s' for k, v in seconds.items())}")
    rebuilt = rebuild_on_duckdb(tiny_run["published"], work / "duckdb_rebuild", select=REBUILT_ON_DUCKDB, env=env,
                                timeout=900)[0]
    return tiny_run["published"], rebuilt, out, exported


def test_every_model_and_test_builds_on_spark_and_public_marts_match_duckdb(spark_build):
    from smb_warehouse.core import engine_compare
    from smb_warehouse.core.sql import lit

    published, rebuilt, out, exported = spark_build
    counts = {(s, t): int(n) for s, t, n in (line.split() for line in exported.splitlines() if line.count(" ") == 2)}
    assert len(counts) >= 40, exported
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {lit(str(published))} AS pub (READ_ONLY)")
        con.execute(f"ATTACH {lit(str(rebuilt))} AS rebuilt (READ_ONLY)")
        relations = [f"{schema}.{table}" for schema, table in sorted(counts)]
        results = engine_compare.compare_relations(
            con, relations,
            lambda r: ("rebuilt." if r.split(".")[1] in REBUILT_ON_DUCKDB else "pub.") + r,
            lambda r: f"read_parquet({lit(str(out / r) + '/*.parquet')})")
        report = engine_compare.format_report(results, "duckdb", "spark")
        assert all(r.equal for r in results), report
        assert [r.rows_right for r in results] == [counts[tuple(r.relation.split("."))] for r in results]
    finally:
        con.close()


def test_spark_inputs_land_every_non_dbt_table_with_its_types(tmp_path):
    """spark_inputs on a hand-made DuckDB file: dbt's schemas stay behind, decimals, timestamps (same wall time),
    JSON (as text), booleans, NULLs arrive as DuckDB has them; an existing table is refused unless replaced; a type
    without a mapping is refused naming the column."""
    import json

    from smb_warehouse.core import spark_inputs
    from tests.support import stop_spark_jvm

    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw; create schema ml; create schema staging")
        con.execute("create table raw.erp__things (id varchar not null, amount decimal(18, 4), loaded_at timestamp, "
                    "day date, _extra_columns json, ok boolean, n bigint, k integer)")
        con.execute("insert into raw.erp__things values ('a', 1.5, '2024-01-02 03:04:05.123456', '2024-01-02', "
                    "'{\"x\": 1}', true, 7, 3), ('b', null, null, null, null, null, null, null)")
        con.execute("create table ml.scores (k integer, score double)")
        con.execute("insert into ml.scores values (1, 0.1), (2, 1e-300)")
        con.execute("create table staging.built_by_dbt (k integer)")
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"nodes": {"model.p.x": {"resource_type": "model", "schema": "staging"}}}))
    env = {"DBT_SPARK_DIR": str(tmp_path / "spark"), "DBT_SPARK_MASTER": "local[1]"}
    spark = spark_inputs.spark_session(env)
    try:
        landed = spark_inputs.land_for_spark(path, spark=spark, root=tmp_path / "spark", manifest=manifest)
        assert [(x.schema, x.table, x.rows) for x in landed] == [("ml", "scores", 2), ("raw", "erp__things", 2)]
        described = [(r.col_name, r.data_type) for r in spark.sql("describe raw.erp__things").collect()]
        assert described[:8] == [("id", "string"), ("amount", "decimal(18,4)"), ("loaded_at", "timestamp"),
                                 ("day", "date"), ("_extra_columns", "string"), ("ok", "boolean"), ("n", "bigint"),
                                 ("k", "int")]
        rows = spark.sql("select id, cast(amount as string), cast(loaded_at as string), cast(day as string), "
                         "_extra_columns, ok, n, k from raw.erp__things order by id").collect()
        assert [tuple(r) for r in rows] == [("a", "1.5000", "2024-01-02 03:04:05.123456", "2024-01-02", '{"x": 1}', True, 7, 3),
                                            ("b", None, None, None, None, None, None, None)]
        assert [r[0] for r in spark.sql("select score from ml.scores order by k").collect()] == [0.1, 1e-300]
        assert not spark.catalog.tableExists("staging.built_by_dbt")
        with pytest.raises(ValueError, match="already in Spark.*raw.erp__things"):
            spark_inputs.land_for_spark(path, spark=spark, root=tmp_path / "spark", manifest=manifest)
        with duckdb.connect(str(path)) as con:
            con.execute("insert into ml.scores values (3, 0.3)")
        again = spark_inputs.land_for_spark(path, spark=spark, root=tmp_path / "spark", manifest=manifest,
                                            schemas={"ml"}, replace=True)
        assert [(x.schema, x.table, x.rows) for x in again] == [("ml", "scores", 3)]
        assert spark.sql("select count(*) from ml.scores").collect()[0][0] == 3
        with duckdb.connect(str(path)) as con:
            con.execute("alter table ml.scores add column tags varchar[]")
        with pytest.raises(ValueError, match=r"ml.scores.tags: DuckDB type VARCHAR\[\]"):
            spark_inputs.land_for_spark(path, spark=spark, root=tmp_path / "spark", manifest=manifest, replace=True)
        with pytest.raises(ValueError, match="built by dbt"):
            spark_inputs.land_for_spark(path, spark=spark, root=tmp_path / "spark", manifest=manifest, schemas={"staging"})
    finally:
        stop_spark_jvm()   # not only spark.stop(): the JVM would outlive it with this test's environment
