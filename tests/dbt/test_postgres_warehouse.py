"""The whole project on PostgreSQL 15, from the tiny run's inputs, on a throwaway server (skipped without
the server binaries or psycopg2):

- every model, seed, data test, unit test and enforced contract passes: the tiny run's raw and
  Python-written tables are copied in (smb_warehouse.core.postgres_copy), then write-audit-publish
  (smb_warehouse.core.postgres_publish) builds into ``*__candidate`` schemas and renames them into place;
- every public mart has the same rows as DuckDB built by dbt from the same inputs (doubles to 9 decimals,
  smb_warehouse.core.engine_compare);
- a login role member of the BI role reads every public mart and nothing else (no raw, staging,
  intermediate, protected mart, Python table, seed, or the publish before);
- a candidate that fails its tests, or lacks relations, publishes nothing; rollback swaps back.
"""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import duckdb
import pytest

from smb_warehouse.core import dbt_manifest, engine_compare, postgres_copy, postgres_publish
from smb_warehouse.core.config import environment
from tests.dbt.test_cross_db_engines import postgres  # noqa: F401  (the module-scoped throwaway server)
from tests.support import run_env

# minutes of PostgreSQL builds on top of the tiny run: `make test-api` runs them (it builds the tiny run anyway), CI too
pytestmark = pytest.mark.postgres

PROJECT_DIR = Path(__file__).resolve().parents[2]
DBNAME = "smb_wh"
BI_ROLE = "smb_bi_test"


@pytest.fixture(scope="module")
def pg_env(postgres, tiny_run):  # noqa: F811
    cur = postgres.cursor()
    cur.execute(f"drop database if exists {DBNAME}")
    cur.execute(f"create database {DBNAME}")
    env = {**run_env(tiny_run["root"], tiny_run["landing"]), "DBT_POSTGRES_HOST": "127.0.0.1",
           "DBT_POSTGRES_PORT": str(postgres.info.port), "DBT_POSTGRES_USER": "postgres",
           "DBT_POSTGRES_DBNAME": DBNAME, "DBT_POSTGRES_BI_ROLE": BI_ROLE, "PGOPTIONS": None}
    with environment(env):
        yield env


@contextlib.contextmanager
def _connect(user: str = "postgres"):
    """An autocommit connection, closed on exit (psycopg2's own ``with conn`` opens a transaction)."""
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", port=int(os.environ["DBT_POSTGRES_PORT"]), dbname=DBNAME, user=user)
    conn.autocommit = True
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture(scope="module")
def published(pg_env, tiny_run):
    """postgres_publish_job (the Dagster asset postgres_warehouse) on the tiny run's publish."""
    from dagster import DagsterInstance

    from orchestration.definitions import defs
    from orchestration.publish.postgres import POSTGRES_KEY

    instance = DagsterInstance.ephemeral()
    job = defs.resolve_job_def("postgres_publish_job")
    refused = job.execute_in_process(instance=instance, raise_on_error=False)
    assert not refused.success, "opt-in: without SMB_POSTGRES_PUBLISH the asset refuses"
    with environment({"SMB_POSTGRES_PUBLISH": "1"}):
        result = job.execute_in_process(instance=instance, raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_step_failure]
    (materialization,) = result.asset_materializations_for_node("postgres_warehouse")
    assert materialization.asset_key == POSTGRES_KEY
    return {"metadata": {k: getattr(v, "value", v) for k, v in materialization.metadata.items()},
            "work": PROJECT_DIR / "target" / "postgres_publish", "instance": instance, "run": result}


@pytest.fixture(scope="module")
def duckdb_rebuilt(pg_env, tiny_run, tmp_path_factory):
    """The tiny run's published file rebuilt by dbt alone: the same inputs the PostgreSQL build read (the
    Dagster run built kpi_platform__pipeline_health before its last step's node results existed)."""
    from smb_warehouse.core.engine_compare import rebuild_on_duckdb

    return rebuild_on_duckdb(tiny_run["published"], tmp_path_factory.mktemp("duck_rebuild"), timeout=900)[0]


def test_every_model_seed_and_test_passes_on_postgres(published, tiny_run):
    metadata = published["metadata"]
    assert metadata["schemas_published"] == ["intermediate", "marts", "reference", "staging"]
    assert not {"error", "fail", "skipped"} & set(metadata["dbt_node_statuses"]), metadata
    assert metadata["input_rows"] > 10_000 and metadata["from_publish"]
    nodes = dbt_manifest_nodes(published["work"] / "manifest.json")
    run = json.loads((published["work"] / "run_results.json").read_text())
    by_kind: dict[str, set[str]] = {}
    for r in run["results"]:
        by_kind.setdefault(r["unique_id"].split(".")[0], set()).add(r["status"])
    assert by_kind["model"] == by_kind["seed"] == {"success"}
    assert by_kind["test"] <= {"pass", "warn"} and by_kind["unit_test"] == {"pass"}
    kinds = [r["unique_id"].split(".")[0] for r in run["results"]]
    assert sum(k in ("model", "seed") for k in kinds) == nodes["model"] + nodes["seed"]
    assert sum(k in ("test", "unit_test") for k in kinds) == nodes["test"] + nodes["unit_test"]
    with _connect() as conn, conn.cursor() as cur:
        cur.execute("select nspname from pg_namespace where nspname like '%\\_\\_candidate'")
        assert cur.fetchall() == []


def dbt_manifest_nodes(path: Path) -> dict[str, int]:
    manifest = json.loads(path.read_text())
    counts = {"model": 0, "seed": 0, "test": 0, "unit_test": len(manifest.get("unit_tests", {}))}
    for node in manifest["nodes"].values():
        kind = node["resource_type"]
        if kind in counts and not (kind == "model" and node["config"].get("materialized") == "ephemeral"):
            counts[kind] += 1
    return counts


def test_public_marts_equal_duckdb_built_from_the_same_inputs(published, duckdb_rebuilt):
    con = duckdb.connect()
    postgres_copy.load_postgres_extension(con)
    con.execute(f"ATTACH '{duckdb_rebuilt}' AS dk (READ_ONLY)")
    con.execute(f"ATTACH '{postgres_copy.postgres_dsn()}' AS pg (TYPE postgres, READ_ONLY)")
    relations = dbt_manifest.public_relations()
    assert len(relations) >= 40
    results = engine_compare.compare_relations(con, relations, lambda r: f"dk.{r}", lambda r: f"pg.{r}")
    report = engine_compare.format_report(results, "duckdb", "postgres")
    assert all(r.equal for r in results), report
    assert all(r.checksum_left == r.checksum_right for r in results), report
    assert sum(r.rows_left for r in results) > 10_000
    con.close()


def _relations(cur) -> list[tuple[str, str]]:
    cur.execute("select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                "where c.relkind in ('r', 'v', 'm', 'p') and n.nspname not in ('pg_catalog', 'information_schema') "
                "and n.nspname not like 'pg\\_%' order by 1, 2")
    return cur.fetchall()


def _readable_by(user: str) -> tuple[set[str], set[str]]:
    import psycopg2

    with _connect() as admin, admin.cursor() as cur:
        relations = _relations(cur)
    readable, refused = set(), set()
    with _connect(user=user) as conn, conn.cursor() as cur:
        for schema, name in relations:
            try:
                cur.execute(f'select * from "{schema}"."{name}" limit 1')
                readable.add(f"{schema}.{name}")
            except psycopg2.errors.InsufficientPrivilege:
                refused.add(f"{schema}.{name}")
    return readable, refused


@pytest.fixture(scope="module")
def bi_alice(published):
    """A login role, member of the BI role the build created."""
    with _connect() as admin, admin.cursor() as cur:
        cur.execute(f"create role bi_alice login; grant {BI_ROLE} to bi_alice")
    return "bi_alice"


def test_bi_role_reads_every_public_mart_and_nothing_else(published, bi_alice):
    with _connect() as admin, admin.cursor() as cur:
        cur.execute("select rolcanlogin from pg_roles where rolname = %s", [BI_ROLE])
        assert cur.fetchone() == (False,), "the project creates the BI role as a group (NOLOGIN)"
    readable, refused = _readable_by(bi_alice)
    public = set(dbt_manifest.public_relations())
    assert readable == public
    schemas = {r.split(".")[0] for r in refused}
    assert {"raw", "staging", "intermediate", "reference", "entity_resolution", "ml"} <= schemas
    assert {"marts.bdg_customer_source_ids", "marts.fct_ap_review_queue", "marts.fct_ap_invoice_outcomes"} <= refused
    assert any(r.startswith("staging.stg_crm__") for r in refused)


def test_a_failing_candidate_publishes_nothing_and_rollback_swaps_back(published, bi_alice, tmp_path):
    with _connect() as conn, conn.cursor() as cur:
        cur.execute("select count(*) from marts.dim_customer")
        (customers,) = cur.fetchone()
        cur.execute("select oid from pg_namespace where nspname = 'marts'")
        (marts_oid,) = cur.fetchone()
        # a later version of one customer without a name: staging's not_null test on customer_name fails
        cur.execute("create table raw._saved as select * from raw.erp__customers")
        cur.execute("insert into raw.erp__customers select customer_id, null, email, phone, street, city, postal_code, "
                    "country, vat_id, created_at, updated_at + interval '1 day', _load_id, _source_file, _source_line, "
                    "_loaded_at, _extra_columns from raw.erp__customers limit 1")
    try:
        with pytest.raises(postgres_publish.PublishRefused) as refused:
            postgres_publish.build_candidate(target_path=tmp_path / "target",
                                             dbt_args=["--select", "+stg_erp__customers", "+dim_date",
                                                       "--exclude-resource-type", "unit_test"])
        assert any(uid.startswith("test.") and "stg_erp__customers" in uid for uid, _, _ in refused.value.failures), \
            refused.value.failures
        assert "nothing published" in str(refused.value)
        # the refused candidate is left for inspection; its public mart (granted to the BI role) is built but
        # unreachable: no USAGE on a candidate schema
        with _connect() as conn, conn.cursor() as cur:
            cur.execute("select count(*) from marts__candidate.dim_date")
            assert cur.fetchone()[0] > 0
        readable, refused_relations = _readable_by(bi_alice)
        assert readable == set(dbt_manifest.public_relations())
        assert "marts__candidate.dim_date" in refused_relations
        # the leftover candidate is incomplete: publishing it is refused too
        with _connect() as conn:
            with pytest.raises(postgres_publish.PublishRefused, match="lacks .* relation"):
                postgres_publish.publish(conn, expected=postgres_publish.expected_relations(
                    published["work"] / "manifest.json"))
            with conn.cursor() as cur:
                cur.execute("select oid from pg_namespace where nspname = 'marts'")
                assert cur.fetchone() == (marts_oid,)
                cur.execute("select count(*) from marts.dim_customer")
                assert cur.fetchone() == (customers,)
            assert postgres_publish.drop_candidates(conn)
    finally:
        with _connect() as conn, conn.cursor() as cur:
            cur.execute("delete from raw.erp__customers; insert into raw.erp__customers select * from raw._saved; "
                        "drop table raw._saved")

    # rollback: the first publish had nothing before it, so stage one by hand: marts__previous with a table
    # the BI role may read, then swap back and forth
    with _connect() as conn, conn.cursor() as cur:
        cur.execute(f"create schema marts__previous; create table marts__previous.old_mart as select 1 as x; "
                    f"grant select on marts__previous.old_mart to {BI_ROLE}")
        conn.autocommit = False
        assert postgres_publish.rollback(conn) == ["marts"]
        cur.execute("select x from marts.old_mart")
        assert cur.fetchall() == [(1,)]
        cur.execute("select count(*) from marts__previous.dim_customer")
        assert cur.fetchone() == (customers,)
        conn.commit()
    readable, _ = _readable_by(bi_alice)
    assert {r for r in readable if r.startswith("marts")} == {"marts.old_mart"}, "USAGE moves with the name"
    with _connect() as conn:
        conn.autocommit = False
        assert postgres_publish.rollback(conn) == ["marts"]
        with conn.cursor() as cur:
            cur.execute("select oid from pg_namespace where nspname = 'marts'")
            assert cur.fetchone() == (marts_oid,)
            cur.execute("drop schema marts__previous cascade")
        conn.commit()
    readable, _ = _readable_by(bi_alice)
    assert readable == set(dbt_manifest.public_relations())


def test_the_sensor_and_make_demo_publish_postgres_only_when_asked_and_behind(published, tiny_run):
    import io

    from dagster import AssetMaterialization, build_sensor_context

    from orchestration import cli
    from orchestration.definitions import defs
    from orchestration.lib.resources import PUBLISH_KEY
    from orchestration.publish.postgres import postgres_behind, postgres_publish_sensor
    from smb_warehouse.core.warehouse import Warehouse

    instance = published["instance"]
    current = Warehouse().current_publish()
    assert current is not None and current.publish_id == published["metadata"]["from_publish"]

    def tick():
        # a publish of the DuckDB warehouse (any job) is what the sensor watches
        instance.report_runless_asset_event(AssetMaterialization(PUBLISH_KEY))
        return postgres_publish_sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs))

    assert tick().skip_message == "SMB_POSTGRES_PUBLISH is not set"
    assert not postgres_behind(instance, current.publish_id)
    with environment({"SMB_POSTGRES_PUBLISH": "1"}):
        assert tick().skip_message == "PostgreSQL already holds the current publish"
        assert not postgres_behind(instance, current.publish_id)
        # make demo's follow-up: PostgreSQL already holds the current publish, so no run
        before = len(instance.get_run_records())
        assert cli.publish_postgres(instance, io.StringIO()) == 0
        assert len(instance.get_run_records()) == before
        # behind: another publish, or another server or BI role, than the one PostgreSQL holds
        assert postgres_behind(instance, "another-publish")
        with environment({"DBT_POSTGRES_BI_ROLE": "other_bi"}):
            assert postgres_behind(instance, current.publish_id)
            (request,) = tick().run_requests
            assert current.publish_id in request.run_key and "bi_role=other_bi" in request.run_key


def test_a_second_publish_swaps_demotes_and_moves_usage(published, postgres, bi_alice):  # noqa: F811
    """publish() on a database of its own, with a published schema, a previous one and a candidate: the
    candidate becomes the published schema with USAGE for the roles that may SELECT in it, the published
    one becomes __previous without USAGE, the older __previous is dropped; a partial candidate is refused."""
    cur = postgres.cursor()
    cur.execute("drop database if exists smb_swap")
    cur.execute("create database smb_swap")
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", port=postgres.info.port, user="postgres", dbname="smb_swap")
    try:
        with conn.cursor() as c:
            c.execute(f"""
                create schema marts; create table marts.kpi as select 'old' as v;
                grant select on marts.kpi to {BI_ROLE}; grant usage on schema marts to {BI_ROLE};
                create schema marts__previous; create table marts__previous.kpi as select 'older' as v;
                create schema marts__candidate; create table marts__candidate.kpi as select 'new' as v;
                create table marts__candidate.internal as select 1 as x;
                grant select on marts__candidate.kpi to {BI_ROLE};
                create schema reference__candidate; create table reference__candidate.seed as select 1 as x""")
        conn.commit()
        with pytest.raises(postgres_publish.PublishRefused, match="lacks 1 relation.*marts.missing"):
            postgres_publish.publish(conn, expected=["marts.kpi", "marts.missing"])
        with pytest.raises(postgres_publish.PublishRefused, match="no expected relations"):
            postgres_publish.publish(conn, expected=[])
        assert postgres_publish.publish(conn, expected=["marts.kpi", "marts.internal", "reference.seed"]) == [
            "marts", "reference"]
        with conn.cursor() as c:
            c.execute("select nspname from pg_namespace where nspname like 'marts%' or nspname like 'reference%' order by 1")
            assert [r[0] for r in c.fetchall()] == ["marts", "marts__previous", "reference"]
            c.execute("select (select v from marts.kpi), (select v from marts__previous.kpi)")
            assert c.fetchone() == ("new", "old")
        conn.commit()
    finally:
        conn.close()
    alice = psycopg2.connect(host="127.0.0.1", port=postgres.info.port, user=bi_alice, dbname="smb_swap")
    alice.autocommit = True
    try:
        with alice.cursor() as c:
            c.execute("select v from marts.kpi")
            assert c.fetchall() == [("new",)]
            for relation in ("marts.internal", "marts__previous.kpi", "reference.seed"):
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    c.execute(f"select * from {relation}")
    finally:
        alice.close()


def test_only_its_own_job_builds_postgres():
    """No pipeline job pulls the PostgreSQL publish in (event micro-batches, forecast and review jobs select
    `.downstream()` of their assets): only postgres_publish_job, which the sensor and make demo start."""
    from orchestration.definitions import defs
    from orchestration.publish.postgres import POSTGRES_KEY

    selecting = {job.name for job in defs.resolve_all_job_defs()
                 if job.asset_layer and POSTGRES_KEY in job.asset_layer.selected_asset_keys
                 and not job.name.startswith("__")}
    assert selecting == {"postgres_publish_job"}
