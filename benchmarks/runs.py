"""What a run costs when little or nothing changed: `python -m benchmarks.runs [--scales 1 5]` (`make bench-runs`).

For each scale it generates a landing zone (sme_sim), holds back the simulation's last business day (that day's
sales orders and their lines, tickets and bank transactions, moved into day files the way a nightly delta
export lands them) and then, on one data dir and one Dagster instance, runs the main job as `make demo` does
(``python -m orchestration.cli demo``, a fresh process each time) three times:

* **full**: everything but the held-back day, into an empty warehouse;
* **no change**: again, nothing new landed (`make demo` finds nothing changed since the publish and runs
  nothing: orchestration/lib/run_inputs.py);
* **one new day**: after the day files land.

It prints each run's wall time, its steps' times (ingestion steps summed, each dbt step, the Python assets),
the ratios to the full run side by side, the published file's size after each run and the run's peak RSS
(the largest resident set of the process and its children, dbt included). Then `dbt build` of the whole project
on a copy of the published warehouse against the same compiled SQL executed directly in DuckDB (models as
tables/views in dbt's execution order, each test as a count query, seeds read with ``read_csv`` and the seed's
column types): dbt's own cost.

With ``--days N`` (N > 1) it holds back the last N days instead and, after the three runs above, lands the
other days one run at a time, printing the published file's size after each; then it builds the final landing
zone (every day in it) once more into an empty warehouse (a new data dir and Dagster instance) and prints the
size after N incremental runs against that fresh build's (issue 12: within 10%).

A figure, not a test: nothing here asserts. Targets (issue 12): one new day <= 15% of a full run (goal 10%),
no change <= 5%, ``dbt build`` <= 2x the direct SQL (goal 1.3x).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
DBT = Path(sys.executable).with_name("dbt")


# --- the held-back day ------------------------------------------------------------------------------------------

def _split_lines(folder: Path, keep, delimiter: str = ",", header: bool = True) -> tuple[list[str], str]:
    """Removes the lines ``keep(fields)`` selects (``fields``: the line split on ``delimiter``) from every file of
    ``folder`` (the simulator writes a file per month, and a late row of a day sits in a later month's file) and
    returns them with the header (``""`` when the files have none). Lines stay byte for byte (the simulator's
    injected faults included): only whole lines move."""
    moved: list[str] = []
    first_header = ""
    for path in sorted(folder.iterdir()):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        head, body = (lines[:1], lines[1:]) if header else ([], lines)
        first_header = first_header or "".join(head)
        taken = [line for line in body if keep(line.rstrip("\r\n").split(delimiter))]
        if taken:
            moved += taken
            path.write_text("".join(head) + "".join(line for line in body if not keep(line.rstrip("\r\n").split(delimiter))),
                            encoding="utf-8")
    return moved, first_header


def _write_lines(path: Path, header: str, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "".join(lines), encoding="utf-8")


def hold_back_last_day(landing: Path, held: Path) -> dict[str, int]:
    """Moves the last order date's sales orders (and their lines), the tickets created and the bank transactions
    booked that day out of ``landing`` into day files under ``held`` (same folder layout). Returns the rows
    moved per entity and ``day`` (ISO date)."""
    orders_dir = landing / "erp" / "sales_orders"
    day = ""
    for path in orders_dir.iterdir():
        with path.open(newline="", encoding="utf-8") as fh:
            day = max([day, *(d for r in csv.DictReader(fh)
                              if re.fullmatch(r"\d{4}-\d{2}-\d{2}", d := str(r.get("order_date"))))])
    if not day:
        raise ValueError(f"{orders_dir}: no order dates left to hold back")
    orders, header = _split_lines(orders_dir, lambda f: len(f) > 2 and f[2] == day)  # order_id,customer_id,order_date
    ids = {line.split(",", 1)[0] for line in orders}
    lines, line_header = _split_lines(landing / "erp" / "sales_order_lines", lambda f: f[0] in ids)
    _write_lines(held / "erp" / "sales_orders" / f"sales_orders_{day}.csv", header, orders)
    _write_lines(held / "erp" / "sales_order_lines" / f"sales_order_lines_{day}.csv", line_header, lines)
    y, m, d = day.split("-")
    bank, bank_header = _split_lines(landing / "finance" / "bank_transactions",
                                     lambda f: len(f) > 2 and f[2] == f"{d}/{m}/{y}", delimiter=";")  # booking_date
    _write_lines(held / "finance" / "bank_transactions" / f"bank_transactions_{day}.csv", bank_header, bank)
    # a malformed line (no created_at of that day) stays where it is
    moved, _ = _split_lines(landing / "support" / "tickets", lambda f: f'"created_at": "{day}T' in f[0],
                            delimiter="\n", header=False)
    _write_lines(held / "support" / "tickets" / f"tickets_{day}.ndjson", "", moved)
    return {"day": day, "sales_orders": len(orders), "sales_order_lines": len(lines), "bank_transactions": len(bank),
            "tickets": len(moved)}


def hold_back_days(landing: Path, held: Path, days: int) -> list[dict]:
    """``hold_back_last_day`` ``days`` times: the last ``days`` order dates, each into ``held/<date>/``. Returns
    one dict per day (rows moved, ``day``, ``folder``), oldest day first: the order they land in."""
    out = []
    for _ in range(days):
        folder = held / "next"
        moved = hold_back_last_day(landing, folder)
        if not moved["sales_orders"]:
            raise ValueError(f"held back {len(out)} days; no orders left for another")
        folder.rename(held / moved["day"])
        out.append({**moved, "folder": held / moved["day"]})
    return out[::-1]


# --- runs ---------------------------------------------------------------------------------------------------------

_CHILD = """
import resource, sys
from orchestration.cli import main
code = main(["demo"])
rss = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(f"BENCH_PEAK_RSS_KIB={rss}", file=sys.stderr)
sys.exit(code)
"""


def run_job(env: dict[str, str], log: Path, seen_runs: set[str], allow_failure: bool = False) -> dict:
    """One `make demo` run in a fresh process: wall seconds, peak RSS (MiB), the step times of the run (from the
    Dagster instance at DAGSTER_HOME; ``steps``: seconds per step name, ``windows``: each name's (start, end) Unix
    times; none when `make demo` found nothing changed and ran nothing: its run is not new, ``seen_runs`` holds the
    earlier ones), the published file's size (MB; nan when there is none) and ``failed`` (exit status != 0).
    Raises ``RuntimeError`` with the log's path when the run fails, unless ``allow_failure`` (the figures of the
    steps that ran are returned then)."""
    from dagster import DagsterInstance, RunsFilter

    start = time.perf_counter()
    with log.open("w") as out:
        done = subprocess.run([sys.executable, "-c", _CHILD], cwd=ROOT, env=env, stdout=out, stderr=subprocess.PIPE,
                              text=True)
    wall = time.perf_counter() - start
    out_text = done.stderr
    with log.open("a") as out:
        out.write(out_text)
    if done.returncode != 0 and not allow_failure:
        raise RuntimeError(f"run failed (exit {done.returncode}); log: {log}")
    rss = next((int(x.split("=", 1)[1]) for x in out_text.splitlines() if x.startswith("BENCH_PEAK_RSS_KIB=")), 0)
    os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
    with DagsterInstance.get() as instance:
        runs = instance.get_run_records(RunsFilter(job_name="warehouse_job"), limit=1)
        run = runs[0].dagster_run if runs else None
        # `make demo` ran nothing (nothing changed since the last publish): no steps of its own
        steps = instance.get_run_step_stats(run.run_id) if run is not None and run.run_id not in seen_runs else []
        if run is not None:
            seen_runs.add(run.run_id)
    groups: dict[str, float] = defaultdict(float)
    windows: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for s in steps:
        if s.start_time is None or s.end_time is None:
            continue
        key = s.step_key
        if key.startswith("raw__") or key == "ingestion_ledger":
            name = "ingestion (all entities)"
        elif key.startswith("warehouse_dbt_models"):
            name = f"dbt step {key.removeprefix('warehouse_dbt_models').strip('_') or '1'}"
        else:
            name = key
        groups[name] += s.end_time - s.start_time
        windows[name].append((s.start_time, s.end_time))
    published = Path(env["SMB_DATA_DIR"]) / "warehouse" / "warehouse.duckdb"
    return {"wall": wall, "rss_mib": rss / 1024, "steps": dict(groups), "windows": dict(windows),
            "mb": published.stat().st_size / 1e6 if published.exists() else float("nan"),
            "failed": done.returncode != 0}


# --- dbt build against the same SQL run directly -------------------------------------------------------------------

# the nightly build's arguments (orchestration/dbt/assets.py): unit tests run in CI, not on the night's data
BUILD_ARGS = ["--exclude-resource-type", "unit_test"]


def dbt_vs_direct(published: Path, work: Path, env: dict[str, str]) -> tuple[float, float, int, int, float, int]:
    """``dbt build`` of the whole project as the nightly run builds it (``BUILD_ARGS``) on a copy of ``published``
    (after a ``dbt parse`` into the same target folder, as the pipeline's partial parse does), then every model,
    seed and test of that build executed directly in DuckDB on a second copy, in dbt's execution order; then, for
    the record, ``dbt test`` of the unit tests alone (CI runs them). Returns (dbt seconds, direct seconds, models,
    tests, unit-test seconds, unit tests)."""
    from smb_warehouse.core import pii

    for name in ("dbt", "direct"):
        (work / name).mkdir(parents=True, exist_ok=True)
        shutil.copy(published, work / name / "warehouse.duckdb")  # same file name: same catalog name in the SQL
    target = work / "target"
    dbt_env = {**env, "DBT_DUCKDB_PATH": str(work / "dbt" / "warehouse.duckdb")}
    common = ["--project-dir", str(ROOT), "--profiles-dir", str(ROOT), "--target-path", str(target),
              "--log-path", str(work / "dbt_logs")]
    subprocess.run([str(DBT), "parse", *common], cwd=ROOT, env=dbt_env, check=True, capture_output=True)
    start = time.perf_counter()
    built = subprocess.run([str(DBT), "build", *common, *BUILD_ARGS], cwd=ROOT, env=dbt_env, capture_output=True,
                           text=True)
    dbt_seconds = time.perf_counter() - start
    if built.returncode != 0:
        raise RuntimeError(f"dbt build failed: {built.stdout[-2000:]}")
    manifest = json.loads((target / "manifest.json").read_text())
    results = json.loads((target / "run_results.json").read_text())["results"]
    start = time.perf_counter()
    unit = subprocess.run([str(DBT), "test", "--select", "test_type:unit", *common], cwd=ROOT, env=dbt_env,
                          capture_output=True, text=True)
    unit_seconds = time.perf_counter() - start
    if unit.returncode != 0:
        raise RuntimeError(f"dbt unit tests failed: {unit.stdout[-2000:]}")
    unit_tests = sum(r["unique_id"].startswith("unit_test.")
                     for r in json.loads((target / "run_results.json").read_text())["results"])
    nodes = manifest["nodes"]
    con = duckdb.connect(str(work / "direct" / "warehouse.duckdb"))
    pii.configure(con, pii.hash_key())
    models = tests = 0
    start = time.perf_counter()
    for result in results:
        node = nodes.get(result["unique_id"])
        if node is None or result["status"] in ("skipped",):
            continue
        relation = node.get("relation_name")
        kind, materialized = node["resource_type"], node["config"].get("materialized")
        if kind == "seed":  # the CSV read with the column types dbt gave the seed (the copy holds its table)
            types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {relation})").fetchall())
            con.execute(f"CREATE OR REPLACE TABLE {relation} AS SELECT * FROM read_csv(?, columns = ?, header = true)",
                        [str(ROOT / node["original_file_path"]), types])
        elif kind in ("model", "snapshot") and materialized != "ephemeral":
            sql = node["compiled_code"]
            con.execute(f"CREATE OR REPLACE {'VIEW' if materialized == 'view' else 'TABLE'} {relation} AS {sql}")
            models += 1
        elif kind == "test":
            con.execute(f"SELECT count(*) FROM ({node['compiled_code']}) AS t").fetchone()
            tests += 1
    direct_seconds = time.perf_counter() - start
    con.close()
    return dbt_seconds, direct_seconds, models, tests, unit_seconds, unit_tests


# --- report -------------------------------------------------------------------------------------------------------

def report(scale: float, held: dict, runs: dict[str, dict], dbt: tuple[float, float, int, int, float, int] | None,
           ) -> None:
    full = runs["full"]
    print(f"\nscale {scale:g}: held-back day {held['day']}: {held['sales_orders']} orders, {held['sales_order_lines']} "
          f"order lines, {held['tickets']} tickets, {held['bank_transactions']} bank transactions")
    names = list(full["steps"])
    print(f"  {'step':<44}" + "".join(f"{k:>12}" for k in runs) + "".join(f"{k + ' / full':>20}" for k in runs if k != "full"))
    rows = [("run (wall, process included)", {k: r["wall"] for k, r in runs.items()})]
    rows += [(n, {k: r["steps"].get(n, 0.0) for k, r in runs.items()}) for n in names]
    for label, values in rows:
        base = values["full"] or float("nan")
        print(f"  {label[:44]:<44}" + "".join(f"{v:>11.1f}s" for v in values.values())
              + "".join(f"{values[k] / base:>20.1%}" for k in runs if k != "full"))
    print(f"  {'published file (MB)':<44}" + "".join(f"{r['mb']:>12.1f}" for r in runs.values()))
    print(f"  {'peak RSS (MiB)':<44}" + "".join(f"{r['rss_mib']:>12,.0f}" for r in runs.values()))
    if dbt:
        d, s, models, tests, unit_seconds, unit_tests = dbt
        print(f"  dbt build of the whole project {d:.1f}s vs the same compiled SQL run directly {s:.1f}s "
              f"({models} models, {tests} tests): {d / s:.2f}x")
        print(f"  dbt test of the {unit_tests} unit tests (CI; not in the nightly build): {unit_seconds:.1f}s")


def run_env(work: Path, data: str, dagster_home: str, landing: Path) -> dict[str, str]:
    """The environment of one benchmark installation: ``work/<data>`` as SMB_DATA_DIR, a new Dagster instance in
    ``work/<dagster_home>``, ``landing`` as the landing zone."""
    env = {**os.environ, "SMB_DATA_DIR": str(work / data), "SMB_LANDING_DIR": str(landing),
           "DAGSTER_HOME": str(work / dagster_home), "PYTHONUNBUFFERED": "1"}
    env.pop("SMB_WAREHOUSE_DIR", None)
    (work / dagster_home).mkdir(parents=True)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 5.0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--days", type=int, default=1,
                        help="hold back this many last days and land them one run at a time; with more than one, "
                             "also build the final landing zone fresh and compare the published file sizes")
    parser.add_argument("--no-dbt-compare", action="store_true", help="skip dbt build vs direct SQL")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp folder)")
    args = parser.parse_args()
    if args.days < 1:
        parser.error("--days must be at least 1")
    from sme_sim import generate

    with tempfile.TemporaryDirectory(prefix="runs-bench-") as tmp:
        base = args.keep or Path(tmp)
        for scale in args.scales:
            work = base / f"scale_{scale:g}"
            shutil.rmtree(work, ignore_errors=True)
            landing, held = work / "landing", work / "held_back_day"
            generate(landing, work / "truth", seed=args.seed, scale=scale)
            days = hold_back_days(landing, held, args.days)
            env = run_env(work, "data", "dagster_home", landing)
            runs, seen_runs, later = {}, set(), []
            for name in ("full", "no change", "one new day"):
                if name == "one new day":
                    shutil.copytree(days[0]["folder"], landing, dirs_exist_ok=True)
                runs[name] = run_job(env, work / f"{name.replace(' ', '_')}.log", seen_runs)
                print(f"scale {scale:g} {name}: {runs[name]['wall']:.1f}s", flush=True)
            for i, day in enumerate(days[1:], start=2):
                shutil.copytree(day["folder"], landing, dirs_exist_ok=True)
                later.append(run_job(env, work / f"day_{i}.log", seen_runs))
                print(f"scale {scale:g} new day {i} ({day['day']}): {later[-1]['wall']:.1f}s, "
                      f"published file {later[-1]['mb']:.1f} MB", flush=True)
            fresh = None
            if len(days) > 1:  # the same landing zone, every day in it, built once into an empty warehouse
                fresh = run_job(run_env(work, "data_fresh", "dagster_home_fresh", landing), work / "fresh_full.log", set())
                print(f"scale {scale:g} fresh full build of the same landing zone: {fresh['wall']:.1f}s", flush=True)
            published = work / "data" / "warehouse" / "warehouse.duckdb"
            dbt = None if args.no_dbt_compare else dbt_vs_direct(published, work / "dbt_compare", env)
            report(scale, days[0], runs, dbt)
            if fresh is not None:
                sizes = [runs["one new day"]["mb"]] + [r["mb"] for r in later]
                print(f"  published file after each of {len(days)} one-day runs (MB): "
                      + ", ".join(f"{mb:.1f}" for mb in sizes))
                print(f"  after {len(days)} incremental runs {sizes[-1]:.1f} MB vs a fresh full build of the same "
                      f"landing zone {fresh['mb']:.1f} MB: {sizes[-1] / fresh['mb']:.1%}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"\nratios: step time / the full run's; peak RSS of any run {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
