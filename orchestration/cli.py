"""`python -m orchestration.cli demo|ui|docs|analysis|rollback-warehouse`: the commands behind `make demo`, `make ui`,
`make docs`, `make analysis` and `make rollback-warehouse`."""
from __future__ import annotations

import argparse
import subprocess
import sys
from typing import TextIO

from smb_warehouse.core import paths
from smb_warehouse.core.config import dagster_home, disable_telemetry


def run_demo(force: bool = False) -> int:
    """`make demo`: :func:`demo` on DAGSTER_HOME's instance (so `make ui` shows the run); the exit code."""
    from dagster import DagsterInstance

    with DagsterInstance.get() as instance:
        return demo(instance, force=force)[0]


def demo(instance, terminal: TextIO | None = None, force: bool = False):
    """Materialize every asset through Dagster with the quiet terminal (orchestration/lib/run_console.py): one
    line per step, the full log in a file, then where everything is; on failure one paragraph per failed step
    and the log's path. ``terminal`` defaults to standard output (the shared test run passes a buffer).

    Unless ``force``, nothing runs when nothing the run reads changed since the last successful publish
    (orchestration.lib.run_inputs: landing files, code, settings, people's decisions, the PII key): it says so.
    The run carries its input fingerprint as a tag; the publish records it.
    Returns ``(exit code, ExecuteInProcessResult, or None when skipped)``."""
    from orchestration.lib import run_inputs

    out = terminal or sys.stdout
    decision = run_inputs.check(instance)
    if decision.skip and not force:  # decided before loading the definitions (about 3 s: the dbt manifest, every asset)
        print(f"Nothing to do: {decision.reason}:\n  {paths.published_warehouse_path()}\n"
              "(`make demo FORCE=1` rebuilds it anyway.)", file=out)
        return publish_postgres(instance, terminal), None
    from orchestration.definitions import defs
    from orchestration.lib.run_console import quiet_run

    tags = {run_inputs.FINGERPRINT_TAG: decision.fingerprint} if decision.fingerprint else {}
    result, log_path = quiet_run(defs.resolve_job_def("warehouse_job"), instance, terminal=terminal, tags=tags)
    out = terminal or sys.stdout  # restored by now (quiet_run redirects it to the log during the run)
    if not result.success:
        print("\nRUN FAILED: the published warehouse was left untouched.", file=out)
        for event in (e for e in result.all_events if e.is_step_failure):
            print(f"- step {event.step_key}: {failure_message(event)}", file=out)
        print(f"Full log: {log_path}", file=out)
        return 1, result
    print_locations(result.run_id, out)
    return publish_postgres(instance, terminal), result


def publish_postgres(instance, terminal: TextIO | None = None) -> int:
    """When SMB_POSTGRES_PUBLISH is on and PostgreSQL does not hold the current DuckDB publish yet, run
    postgres_publish_job (orchestration/publish/postgres.py) and say how it went. Returns 0, or 1 when it
    failed (the DuckDB publish stands; the next `make demo` tries PostgreSQL again, even with no change)."""
    from orchestration.publish.postgres import postgres_behind
    from smb_warehouse.core.warehouse import Warehouse

    current = Warehouse().current_publish()
    if not postgres_behind(instance, current.publish_id if current else None):
        return 0
    from orchestration.definitions import defs
    from orchestration.lib.run_console import quiet_run

    result, log_path = quiet_run(defs.resolve_job_def("postgres_publish_job"), instance, terminal=terminal)
    out = terminal or sys.stdout
    if result.success:
        print("PostgreSQL: published (schemas swapped; the BI role reads the public marts).", file=out)
        return 0
    print("\nPOSTGRESQL PUBLISH FAILED: the DuckDB warehouse above is published; PostgreSQL still serves its "
          "previous publish.", file=out)
    for event in (e for e in result.all_events if e.is_step_failure):
        print(f"- step {event.step_key}: {failure_message(event)}", file=out)
    print(f"Full log: {log_path}", file=out)
    return 1


def failure_message(event) -> str:
    """The step's error with its causes: Dagster wraps the loader's ContractViolation in a step error."""
    from orchestration.lib.run_console import error_chain

    return error_chain(event.step_failure_data.error if event.step_failure_data else None)


def print_locations(run_id: str, out: TextIO = sys.stdout) -> None:
    from smb_warehouse.core.warehouse import connect_published

    con = connect_published()
    try:
        audit = con.execute(
            "SELECT count(*) FILTER (WHERE load_id = ?), count(*), coalesce(sum(rows_loaded), 0), "
            "coalesce(sum(rows_quarantined), 0) FROM raw.load_audit WHERE status = 'loaded'", [run_id]
        ).fetchone()
    finally:
        con.close()
    print(
        "\nWarehouse published.\n"
        f"  warehouse (DuckDB, open read-only): {paths.published_warehouse_path()}\n"
        f"  dbt docs site (lineage):            {paths.docs_site_dir() / 'index.html'}  (serve: make docs)\n"
        f"  reports:                            {paths.reports_dir()}  (served by make ui)\n"
        f"  landing zone:                       {paths.landing_dir()}\n"
        f"  files loaded by this run: {audit[0]} (of {audit[1]} in total; already-loaded files are skipped)\n"
        f"  rows loaded in total: {audit[2]}, rows quarantined: {audit[3]} (see raw.quarantine)\n"
        "  Dagster UI with this run's history: make ui  (http://127.0.0.1:3000)", file=out
    )


def run_analysis(name: str, dbt_vars: str) -> int:
    """Compile an analysis (analyses/<name>.sql) with dbt and run it on the published warehouse, read-only.

    dbt only renders the SQL (against a throwaway DuckDB file); the query itself runs on a read-only
    connection, so it can never change what BI tools read.
    """
    import tempfile
    from pathlib import Path

    from orchestration.dbt.assets import DBT_EXECUTABLE, DBT_PROJECT, WarehouseDbtCliResource, dbt_target
    from smb_warehouse.core.warehouse import connect_published

    with tempfile.TemporaryDirectory(prefix="analysis-") as tmp, dbt_target(Path(tmp) / "compile.duckdb"):
        dbt = WarehouseDbtCliResource(project_dir=DBT_PROJECT, dbt_executable=DBT_EXECUTABLE)
        args = ["compile", "--select", name, "--vars", dbt_vars or "{}"]
        dbt.cli(args, target_path=Path(tmp) / "target", raise_on_error=True).wait()
        compiled = next((Path(tmp) / "target" / "compiled").rglob(f"{name}.sql"))
        sql = compiled.read_text()
    con = connect_published()
    try:
        print(con.sql(sql))
    finally:
        con.close()
    return 0


def run_rollback_warehouse() -> int:
    """Make the publish before the current one the published warehouse again (atomic rename), rebuild the BI
    copy from it, and set the MLflow aliases to what it records; all under the writer lock."""
    from datetime import UTC, datetime

    from smb_warehouse.core import registry
    from smb_warehouse.core.warehouse import NoEarlierPublish, Warehouse
    from smb_warehouse.core.writer_lock import WarehouseBusy

    wh = Warehouse()
    run_id = f"rollback-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}"
    try:
        with wh.writer(run_id):
            came_from, went_to = wh.rollback(run_id)
            changes = registry.reconcile_aliases(wh.published_path)
    except (NoEarlierPublish, WarehouseBusy) as exc:
        print(f"rollback refused: {exc}", file=sys.stderr)
        return 1
    print(f"published warehouse rolled back: {came_from.publish_id} -> {went_to.publish_id} (run {went_to.run_id}, "
          f"published {went_to.published_at})\n  BI copy rebuilt: {wh.bi_path}")
    for c in changes:
        print(f"  model alias {c['model']}@{c['alias']}: {c['action']} v{c['from_version'] or '-'} -> v{c['to_version'] or '-'}")
    if not changes:
        print("  model aliases already matched the restored publish")
    print(f"  kept publishes: {', '.join(e.publish_id for e in wh.history())}")
    return 0


def ui_command(port: str | int, daemon: bool = True) -> list[str]:
    """`make ui`: ``dagster dev`` (webserver and the daemon that runs the schedule and sensors) on 127.0.0.1, or
    the webserver alone, serving orchestration/definitions.py's ``defs``."""
    target = ["-m", "orchestration.definitions", "-a", "defs", "-h", "127.0.0.1", "-p", str(port)]
    return [sys.executable, "-m", "dagster", "dev", *target] if daemon else [sys.executable, "-m", "dagster_webserver", *target]


def run_ui(port: str | int, reports_port: int | None = None) -> int:
    """`make ui`: the HTML reports server (smb_warehouse.core.reports.serve: reports_dir() on
    127.0.0.1:SMB_REPORTS_PORT, default 3001, the URLs the ML assets' metadata link to) in a thread of this
    process, and ``dagster dev`` as a child process; the server stops when dagster dev exits. A taken reports
    port is reported on stderr and the UI starts anyway (its report links then do not open). Ctrl-C reaches
    dagster dev too (same process group): this gives it 30 s to shut down, then terminates it. Returns dagster
    dev's exit code."""
    from smb_warehouse.core import reports

    try:
        server = reports.serve(port=reports_port)
    except (OSError, ValueError) as exc:  # port taken, or SMB_REPORTS_PORT not a port number
        server = None
        print(f"reports server not started ({exc}); set {reports.PORT_ENV} to a free port number", file=sys.stderr)
    else:
        print(f"Evidently reports: {server.url}/  (folder {server.root})", file=sys.stderr)
    try:
        child = subprocess.Popen(ui_command(port))
        try:
            return child.wait()
        except KeyboardInterrupt:  # dagster dev got the same SIGINT: let it shut down, within reason
            try:
                return child.wait(timeout=30)
            except (subprocess.TimeoutExpired, KeyboardInterrupt):
                child.terminate()
                return child.wait()
    finally:
        if server is not None:
            server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="orchestration.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    demo_args = sub.add_parser("demo", help="materialize every asset and publish the warehouse (skipped when nothing "
                                            "changed since the last publish)")
    demo_args.add_argument("--force", action="store_true", help="run even when nothing changed")
    ui = sub.add_parser("ui", help="start the Dagster UI on localhost (and the HTML reports server)")
    ui.add_argument("--port", default="3000")
    ui.add_argument("--reports-port", type=int, default=None, help="reports server port (default SMB_REPORTS_PORT "
                                                                   "or 3001)")
    docs = sub.add_parser("docs", help="serve the dbt docs site on localhost")
    docs.add_argument("--port", default="8080")
    analysis = sub.add_parser("analysis", help="run an analysis (impact query) on the published warehouse")
    analysis.add_argument("name", help="file name in analyses/ without .sql, e.g. impact_product_recall")
    analysis.add_argument("--vars", default="{}", help="dbt vars as YAML, e.g. '{product_id: PRD-000008}'")
    sub.add_parser("rollback-warehouse", help="restore the previous publish (and the model aliases it records)")
    args = parser.parse_args(argv)

    disable_telemetry()
    dagster_home()
    if args.command == "demo":
        return run_demo(args.force)
    if args.command == "analysis":
        return run_analysis(args.name, args.vars)
    if args.command == "rollback-warehouse":
        return run_rollback_warehouse()
    if args.command == "ui":
        return run_ui(args.port, args.reports_port)
    site = paths.docs_site_dir()
    if not (site / "index.html").exists():
        print(f"no docs site at {site}: run `make demo` first", file=sys.stderr)
        return 1
    print(f"dbt docs: http://127.0.0.1:{args.port}/index.html")
    return subprocess.call([sys.executable, "-m", "http.server", args.port, "--bind", "127.0.0.1", "--directory", str(site)])


if __name__ == "__main__":
    sys.exit(main())
