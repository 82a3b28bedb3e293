"""Fault injection: SIGKILL a pipeline run at step boundaries and at random points inside long steps, then
prove write-audit-publish held. ``make test-faults`` (20 trials of the main Dagster job); 3 trials of the
fast mode run in ``make test`` (tests/reliability/test_faults.py).

    python -m benchmarks.faults [--trials 20] [--mode job|fast] [--scale 0.02] [--seed 7] [--workdir DIR]

Setup: a tiny generated landing zone in a work dir and one complete baseline run (it also records the
job's steps and how long each took). Then every trial:

1. lands a new batch for every entity (a copy of its latest file with its last record repeated once per
   trial number, so the file is new by content and holds duplicate keys the loader must quarantine);
2. starts the run in a subprocess (its own process group) and SIGKILLs the whole group (dbt included) either
   when the run reports a chosen step boundary (Dagster STEP_START / STEP_SUCCESS; the fast mode prints its
   own) or at a random time inside a long step (uniform between 10 % and 90 % of its baseline duration);
3. checks the published warehouse: byte-identical to the previous publish, or a complete new publish (the
   killed run's own history entry, opening cleanly, its ledger balanced): else an *inconsistent publish*;
4. runs the job again to completion: it must succeed, publish, leave the BI copy built from that publish,
   and (job mode) leave every MLflow alias as the published ml.model_registry records it: else a *failed
   recovery*;
5. counts rows: per landed file, the records counted independently in the file must equal the ledger's
   rows read = loaded + quarantined, the raw table must hold exactly the loaded rows and the quarantine
   the quarantined ones (*rows lost* when fewer, *rows doubled* when more); no key twice within one file
   version in raw; no file version loaded twice.

Modes: ``job`` runs ``warehouse_job`` through Dagster (every asset: ingestion, dbt, entity resolution, ML,
publish). ``fast`` runs the same write-audit-publish path without Dagster and dbt (writer lock, candidate,
the loader for every entity, the ledger check, the erasure list, the compacted publish, history, BI copy):
seconds per run, for CI.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from smb_warehouse.core.config import environment
from smb_warehouse.core.warehouse import Warehouse
from smb_warehouse.ingestion.contracts import Entity, all_entities
from smb_warehouse.ingestion.discovery import discover

STEP_EVENT = re.compile(r" - (?P<step>[\w.\[\]-]+) - (?P<event>STEP_START|STEP_SUCCESS) - ")
FAST_EVENT = re.compile(r"^BOUNDARY (?P<step>\S+) (?P<event>\S+)$")
RUN_ID = re.compile(r" - (?P<run>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}) - ")
LONG_STEP_SECONDS = 3.0


# ------------------------------------------------------------------------------------------ the runs
def _fast_run() -> None:
    """Write-audit-publish without Dagster: claim, load every entity, ledger check, publish."""
    from orchestration.ingestion.audit import conservation_violations_sql
    from orchestration.privacy.erasure import apply_erasure_list
    from smb_warehouse.core import paths
    from smb_warehouse.ingestion.loader import ContractViolation, ensure_ingestion_tables, load_entity

    run_id = f"fast-{os.getpid()}-{time.time_ns()}"
    print(f"RUN {run_id}", flush=True)
    wh = Warehouse()
    with wh.writer(run_id):
        wh.ensure_candidate(run_id)
        print("BOUNDARY claim STEP_SUCCESS", flush=True)
        for entity in all_entities():
            print(f"BOUNDARY {entity.system}__{entity.name} STEP_START", flush=True)
            with wh.connect(run_id) as con:
                ensure_ingestion_tables(con)
                try:
                    load_entity(con, entity, paths.landing_dir(), load_id=run_id)
                except ContractViolation as exc:
                    raise SystemExit(f"contract violation: {exc}") from exc
                apply_erasure_list(con, entity, run_id)
            print(f"BOUNDARY {entity.system}__{entity.name} STEP_SUCCESS", flush=True)
        with wh.connect(run_id) as con:
            for entity in all_entities():
                con.execute(entity.raw_ddl())
            bad = con.execute(conservation_violations_sql()).fetchall()
        if bad:
            raise SystemExit(f"ledger does not balance: {bad[:3]}")
        print("BOUNDARY ledger STEP_SUCCESS", flush=True)
        print("BOUNDARY publish STEP_START", flush=True)
        wh.publish(run_id, bi_relations=[])  # no dbt here: the BI copy holds only its publish_info
        print("BOUNDARY publish STEP_SUCCESS", flush=True)


def _job_run(subset: bool = False) -> None:
    """``warehouse_job`` through Dagster; ``subset``: only the ingestion assets, the ledger and the publish."""
    from dagster import AssetKey, DagsterInstance

    from orchestration.cli import failure_message
    from orchestration.definitions import defs
    from orchestration.ingestion.audit import AUDIT_KEY, QUARANTINE_KEY

    ingestion = [AssetKey(e.asset_key_path) for e in all_entities()]
    selection = ingestion + [AUDIT_KEY, QUARANTINE_KEY, AssetKey(["published_warehouse"])] if subset else None
    result = defs.resolve_job_def("warehouse_job").execute_in_process(
        instance=DagsterInstance.ephemeral(), raise_on_error=False, asset_selection=selection,
        run_config={"loggers": {"console": {"config": {"log_level": "DEBUG"}}}})
    if not result.success:
        failed = [f"{e.step_key}: {failure_message(e)}" for e in result.all_events if e.is_step_failure]
        raise SystemExit("run failed:\n" + "\n".join(failed))


@dataclass
class Outcome:
    returncode: int | None
    killed: bool
    kill_point: str
    run_id: str | None
    events: list[tuple[str, str, float]]  # (step, event, seconds since start)
    tail: list[str]


def run_child(mode: str, env: dict[str, str], kill_at: tuple[str, str] | None = None, kill_after: float | None = None,
              inside: tuple[str, float] | None = None, timeout: float = 3600) -> Outcome:
    """Run one pipeline run in a subprocess (own process group). ``kill_at``: SIGKILL when (step, event)
    is reported; ``inside``: (step, seconds) SIGKILL that long after the step started; ``kill_after``:
    seconds after start. Returns what happened."""
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.faults", "child", "--mode", mode], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            cwd=Path(__file__).resolve().parents[1])
    started = time.monotonic()
    events: list[tuple[str, str, float]] = []
    tail: list[str] = []
    state = {"killed": False, "point": "", "run": None}
    timer: list[threading.Timer] = []

    def kill(point: str) -> None:
        if not state["killed"] and proc.poll() is None:
            state["killed"], state["point"] = True, point
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

    if kill_after is not None:
        timer.append(threading.Timer(kill_after, kill, [f"{kill_after:.1f}s after start"]))
        timer[-1].start()
    for line in proc.stdout:
        line = line.rstrip("\n")
        tail = (tail + [line])[-40:]
        if state["run"] is None:
            m = RUN_ID.search(line) or (re.match(r"^RUN (\S+)$", line))
            if m:
                state["run"] = m.group(1)
        m = STEP_EVENT.search(line) or FAST_EVENT.match(line)
        if not m:
            continue
        step, event = m.group("step"), m.group("event")
        events.append((step, event, time.monotonic() - started))
        if kill_at is not None and (step, event) == kill_at:
            kill(f"{event} of {step}")
        if inside is not None and (step, event) == (inside[0], "STEP_START"):
            timer.append(threading.Timer(inside[1], kill, [f"{inside[1]:.1f}s into {step}"]))
            timer[-1].start()
        if inside is not None and (step, event) == (inside[0], "STEP_SUCCESS") and not state["killed"]:
            # the step ran faster than in the baseline run: kill at its end instead, so every trial kills
            kill(f"STEP_SUCCESS of {step} (its {inside[1]:.1f}s in-step point came after the step ended)")
        if time.monotonic() - started > timeout:
            kill("timeout")
    proc.wait()
    for t in timer:
        t.cancel()
    return Outcome(proc.returncode, state["killed"], state["point"], state["run"], events, tail)


# ------------------------------------------------------------------------------------------ the checks
def sha(path: Path) -> str | None:
    if not path.exists():
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def publish_is_complete(path: Path) -> tuple[bool, str]:
    """Opens read-only, has the raw ledger, and the ledger balances."""
    from orchestration.ingestion.audit import conservation_violations_sql

    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        return False, f"cannot open: {exc}"
    try:
        tables = {r[0] for r in con.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables()").fetchall()}
        if "raw.load_audit" not in tables:
            return False, "no raw.load_audit"
        bad = con.execute(conservation_violations_sql()).fetchall()
        return (not bad), (f"ledger does not balance: {bad[:2]}" if bad else "ok")
    except duckdb.Error as exc:
        return False, f"query failed: {exc}"
    finally:
        con.close()


def count_records(path: Path, entity: Entity) -> int:
    """Records in a landed file, counted without the project's loader (blank lines are no records)."""
    fmt = entity.format
    if fmt.type == "json_array":
        return len(json.loads(path.read_text(encoding=fmt.encoding)))
    text = path.read_text(encoding=fmt.encoding, errors="replace")
    if fmt.type == "ndjson":
        return sum(1 for line in text.splitlines() if line.strip())
    rows = [r for r in csv.reader(text.splitlines(), delimiter=fmt.delimiter, quotechar=fmt.quote) if any(f.strip() for f in r)]
    return len(rows) - (1 if fmt.header and rows else 0)


@dataclass
class RowCheck:
    lost: int = 0
    doubled: int = 0
    notes: list[str] = field(default_factory=list)


def check_rows(published: Path, landing: Path, baseline: dict[str, int] | None = None) -> RowCheck:
    """Per landed file: independent record count = ledger read = loaded + quarantined = rows in raw +
    rows in quarantine; no key twice in one file version; no file version loaded twice. ``baseline``:
    files whose independent count differs from the ledger already in the baseline run (a counting
    convention, not a fault) with the ledger's count, compared instead."""
    out = RowCheck()
    con = duckdb.connect(str(published), read_only=True)
    try:
        audit = {(r[0], r[1], r[2]): r[3:] for r in con.execute(
            "SELECT system, entity, source_file, sum(rows_read), sum(rows_loaded), sum(rows_quarantined), count(*) "
            "FROM raw.load_audit WHERE status IN ('loaded', 'empty') GROUP BY ALL").fetchall()}
        quarantine = {(r[0], r[1], r[2]): r[3] for r in con.execute(
            "SELECT system, entity, source_file, count(*) FROM raw.quarantine GROUP BY ALL").fetchall()}
        for entity in all_entities():
            raw = {r[0]: r[1] for r in con.execute(
                f"SELECT _source_file, count(*) FROM {entity.qualified_raw_table} GROUP BY 1").fetchall()}
            keys = ", ".join(entity.primary_key)
            dupes = con.execute(f"SELECT count(*) FROM (SELECT _source_file, {keys} FROM {entity.qualified_raw_table} "
                                f"GROUP BY ALL HAVING count(*) > 1)").fetchone()[0]
            if dupes:
                out.doubled += dupes
                out.notes.append(f"{entity.qualified_raw_table}: {dupes} keys twice within a file version")
            for found in discover(entity, landing):
                if found.action != "load":
                    continue
                key = (entity.system, entity.name, found.rel)
                expected = count_records(found.path, entity)
                if baseline and found.rel in baseline:
                    expected = baseline[found.rel]
                if key not in audit:
                    out.lost += expected
                    out.notes.append(f"{found.rel}: landed, never loaded")
                    continue
                read, loaded, quarantined, versions = audit[key]
                if versions > 1:
                    out.doubled += int(loaded)
                    out.notes.append(f"{found.rel}: loaded {versions} times")
                accounted = int(loaded) + int(quarantined)
                if expected > accounted:
                    out.lost += expected - accounted
                    out.notes.append(f"{found.rel}: {expected} records, {accounted} loaded + quarantined")
                elif expected < accounted:
                    out.doubled += accounted - expected
                    out.notes.append(f"{found.rel}: {expected} records, {accounted} loaded + quarantined")
                in_raw, in_q = raw.get(found.rel, 0), quarantine.get(key, 0)
                out.lost += max(0, int(loaded) - in_raw) + max(0, int(quarantined) - in_q)
                out.doubled += max(0, in_raw - int(loaded)) + max(0, in_q - int(quarantined))
                if in_raw != loaded or in_q != quarantined:
                    out.notes.append(f"{found.rel}: raw {in_raw} vs loaded {loaded}, quarantine {in_q} vs {quarantined}")
    finally:
        con.close()
    return out


def counting_conventions(published: Path, landing: Path) -> dict[str, int]:
    """Files whose independent count differs from the ledger in a clean run -> the ledger's count."""
    con = duckdb.connect(str(published), read_only=True)
    try:
        ledger = {r[0]: int(r[1]) for r in con.execute(
            "SELECT source_file, sum(rows_read) FROM raw.load_audit WHERE status IN ('loaded', 'empty') GROUP BY 1").fetchall()}
    finally:
        con.close()
    out = {}
    for entity in all_entities():
        for found in discover(entity, landing):
            if found.action == "load" and found.rel in ledger and count_records(found.path, entity) != ledger[found.rel]:
                out[found.rel] = ledger[found.rel]
    return out


def registry_agrees(published: Path) -> tuple[bool, str]:
    """Every MLflow alias is what the published ml.model_registry records (job mode)."""
    from smb_warehouse.core import registry, tracking

    if not (tracking.mlflow_dir() / "mlflow.db").exists():
        return True, "no registry"
    record = registry.published_alias_record(published) or {}
    client = tracking.configure()
    actual = {m.name: {a: str(v) for a, v in (client.get_registered_model(m.name).aliases or {}).items()}
              for m in client.search_registered_models(max_results=1000)}
    actual = {m: a for m, a in actual.items() if a}
    return actual == {m: a for m, a in record.items() if a}, f"registry {actual} vs published {record}"


def land_batch(landing: Path, trial: int, skip: dict[str, int] | None = None) -> int:
    """A new batch per entity: its latest generated file (one the baseline counted like the ledger) again,
    under a new name, with its last record repeated ``trial`` times."""
    landed = 0
    for entity in all_entities():
        files = [f for f in discover(entity, landing) if f.action == "load" and not f.compression
                 and not f.path.name.startswith("zz_fault_") and f.rel not in (skip or {})]
        if not files:
            continue
        source = sorted(files, key=lambda f: f.rel)[-1].path
        target = source.with_name(f"zz_fault_{trial:03d}_{source.name}")
        # the last record repeated `trial` times: every trial's batch differs in content (the same bytes under
        # another name would be skipped as already loaded) and holds duplicate keys the loader must quarantine
        if entity.format.type == "json_array":
            records = json.loads(source.read_text(encoding=entity.format.encoding))
            target.write_text(json.dumps(records + records[-1:] * trial), encoding=entity.format.encoding)
        else:
            lines = [ln for ln in source.read_text(encoding=entity.format.encoding).splitlines() if ln.strip()]
            target.write_text("\n".join(lines + lines[-1:] * trial) + "\n", encoding=entity.format.encoding)
        landed += 1
    return landed


# ------------------------------------------------------------------------------------------ the trials
@dataclass
class Report:
    mode: str
    trials: int = 0
    killed: int = 0
    inconsistent_publishes: int = 0
    complete_new_publishes: int = 0
    unchanged_publishes: int = 0
    failed_recoveries: int = 0
    rows_lost: int = 0
    rows_doubled: int = 0
    registry_disagreements_after_recovery: int = 0
    kill_points: list[str] = field(default_factory=list)
    published_bytes: list[int] = field(default_factory=list)  # after the baseline and after every recovery
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def table(self) -> str:
        rows = [("trials", self.trials), ("runs killed (SIGKILL)", self.killed),
                ("published warehouse unchanged after the kill", self.unchanged_publishes),
                ("complete new publish after the kill", self.complete_new_publishes),
                ("inconsistent publishes", self.inconsistent_publishes), ("failed recoveries", self.failed_recoveries),
                ("rows lost", self.rows_lost), ("rows doubled", self.rows_doubled)]
        if self.mode == "job":
            rows.append(("registry aliases disagreeing after recovery", self.registry_disagreements_after_recovery))
        if self.published_bytes:
            sizes = [b / 1e6 for b in self.published_bytes]
            rows.append(("published file, MB (baseline -> last; max)", f"{sizes[0]:.1f} -> {sizes[-1]:.1f}; {max(sizes):.1f}"))
        width = max(len(r[0]) for r in rows)
        return "\n".join(f"  {name:<{width}}  {value}" for name, value in rows)


def schedule(trials: int, events: list[tuple[str, str, float]], rng: random.Random, mode: str) -> list[dict]:
    """Kill points: even trials at a step boundary spread over the run (trial 2: right after the forecasting
    champion decision, i.e. between a promotion and the publish), odd trials at a random time inside a long
    step (baseline duration >= LONG_STEP_SECONDS in job mode, 0.3 s in fast mode; trial 1: the publish)."""
    boundaries = [(s, e) for s, e, _ in events]
    starts = {s: t for s, e, t in events if e == "STEP_START"}
    shortest = LONG_STEP_SECONDS if mode == "job" else 0.3
    long_steps = [(s, t - starts[s]) for s, e, t in events if e == "STEP_SUCCESS" and s in starts
                  and t - starts[s] >= shortest]
    must = [b for b in boundaries if b[0] in ("forecast_rollout", "model_registry_mirror") and b[1] == "STEP_SUCCESS"][:1]
    plan = []
    for i in range(trials):
        if i % 2 == 0 or not long_steps:
            if must and i == 2:
                point = must[0]
            else:
                point = boundaries[min(len(boundaries) - 1, int((i / 2) * len(boundaries) / max(1, (trials + 1) // 2))
                                       + rng.randrange(0, max(1, len(boundaries) // max(1, trials))))]
            plan.append({"kill_at": point})
        else:
            step, duration = long_steps[(i // 2) % len(long_steps)]
            if i == 1 and any(s.startswith("publish") for s, _ in long_steps):
                step, duration = next((s, d) for s, d in long_steps if s.startswith("publish"))
            plan.append({"inside": (step, rng.uniform(0.1, 0.9) * duration)})
    return plan


def run_trials(trials: int, mode: str = "fast", scale: float = 0.02, seed: int = 7, workdir: Path | None = None,
               log=print) -> Report:
    """The fault-injection suite (module docstring). Returns the report; never raises for a trial's failure."""
    from sme_sim import generate

    started = time.monotonic()
    work = Path(workdir or tempfile.mkdtemp(prefix="smb-faults-"))
    landing, data = work / "landing", work / "data"
    if not landing.exists():
        generate(landing, work / "ground_truth", seed=seed, scale=scale)
    env = {**os.environ, "SMB_DATA_DIR": str(data), "SMB_LANDING_DIR": str(landing), "SMB_WRITER_WAIT_SECONDS": "0",
           "DAGSTER_HOME": str(work / "dagster_home"), "PYTHONUNBUFFERED": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    report = Report(mode)
    rng = random.Random(seed)
    log(f"fault injection ({mode} mode, {trials} trials) in {work}: baseline run ...")
    base = run_child(mode, env)
    if base.returncode != 0:
        raise RuntimeError("the baseline run failed:\n" + "\n".join(base.tail))
    with environment({"SMB_DATA_DIR": str(data), "SMB_LANDING_DIR": str(landing), "MLFLOW_TRACKING_URI": None}):
        wh = Warehouse()
        conventions = counting_conventions(wh.published_path, landing)
        report.published_bytes.append(wh.published_path.stat().st_size)
        plan = schedule(trials, base.events, rng, mode)
        for i, point in enumerate(plan, 1):
            land_batch(landing, i, conventions)
            before = sha(wh.published_path)
            history_before = {e.path.name for e in wh.history()}
            out = run_child(mode, env, **point)
            report.trials += 1
            report.killed += out.killed
            report.kill_points.append(out.kill_point or "not reached (run finished)")
            # 3. the published warehouse right after the kill
            after = sha(wh.published_path)
            new_entries = [e for e in wh.history() if e.path.name not in history_before]
            if after == before:
                report.unchanged_publishes += 1
                verdict = "unchanged"
            else:
                current = wh.current_publish()
                ok, why = publish_is_complete(wh.published_path)
                own = current is not None and out.run_id is not None and current.run_id == out.run_id
                if ok and (own or (current is None and not new_entries)):
                    report.complete_new_publishes += 1
                    verdict = "complete new publish"
                else:
                    report.inconsistent_publishes += 1
                    verdict = f"INCONSISTENT ({why})"
                    report.problems.append(f"trial {i}: published file after kill at {out.kill_point}: {why}")
            # 4. the next run recovers
            rec = run_child(mode, env)
            problems = []
            if rec.returncode != 0:
                problems.append("recovery run failed: " + " | ".join(rec.tail[-5:]))
            else:
                ok, why = publish_is_complete(wh.published_path)
                if not ok:
                    problems.append(f"recovered publish incomplete: {why}")
                current = wh.current_publish()
                if current is None or current.run_id != rec.run_id:
                    problems.append("the recovery run's publish is not the published file")
                elif wh.bi_publish_id() != current.publish_id:
                    problems.append("the BI copy is not built from the published file")
                if mode == "job":
                    with environment({"MLFLOW_TRACKING_URI": None}):
                        agrees, detail = registry_agrees(wh.published_path)
                    if not agrees:
                        report.registry_disagreements_after_recovery += 1
                        problems.append(detail)
            if wh.published_path.exists():
                report.published_bytes.append(wh.published_path.stat().st_size)
            if problems:
                report.failed_recoveries += 1
                report.problems += [f"trial {i}: {p}" for p in problems]
            # 5. rows
            rows = check_rows(wh.published_path, landing, conventions)
            report.rows_lost += rows.lost
            report.rows_doubled += rows.doubled
            report.problems += [f"trial {i}: {n}" for n in rows.notes]
            log(f"  trial {i:>2}: killed at {out.kill_point or '-'}: {verdict}; recovery "
                f"{'ok' if not problems else 'FAILED'}; rows lost {rows.lost}, doubled {rows.doubled}")
    report.seconds = time.monotonic() - started
    if workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return report


def report_path(mode: str) -> Path:
    """Where the last report of a mode is kept ($SMB_DATA_DIR/reliability/faults_<mode>.json)."""
    from smb_warehouse.core import paths

    return paths.data_dir() / "reliability" / f"faults_{mode}.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.faults", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    child = sub.add_parser("child", help="(internal) one pipeline run")
    child.add_argument("--mode", choices=["job", "fast", "ingest"], required=True)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--mode", choices=["job", "fast"], default="job")
    parser.add_argument("--scale", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the work dir here (default: a temp dir, removed)")
    args = parser.parse_args(argv)
    if args.command == "child":
        from smb_warehouse.core.config import disable_telemetry

        disable_telemetry()
        if args.mode == "fast":
            _fast_run()
        else:
            _job_run(subset=args.mode == "ingest")
        return 0
    report = run_trials(args.trials, args.mode, args.scale, args.seed, args.workdir)
    print(f"\nFault injection, {report.mode} mode ({report.seconds / 60:.1f} min):\n{report.table()}")
    saved = report_path(report.mode)
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(asdict(report), indent=1))
    print(f"  (saved to {saved}; `make reliability` shows it)")
    for problem in report.problems[:30]:
        print(f"  ! {problem}")
    bad = report.inconsistent_publishes or report.failed_recoveries or report.rows_lost or report.rows_doubled
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
