"""`make reliability`: one table of what the project can show about reliability and security.

    python -m benchmarks.reliability [--trials 3]

Rows:
- fault trials: ``--trials`` fresh fast-mode trials (benchmarks/faults.py), and the last ``make test-faults``
  report of the main Dagster job if one was saved ($SMB_DATA_DIR/reliability/faults_job.json);
- bad-input kinds handled: the shared real-export cases (tests/ingestion/test_ingestion_cases.py, one case
  per kind) and the loader's own corpus (tests/ingestion/test_ingestion_{kinds,csv,json}.py), run now;
- concurrent writers: two runs started together on one warehouse (fast mode): how many published, how many
  were refused with the "another run holds the warehouse" message;
- concurrent readers: read-only connections opened and queried on the BI copy in a loop while a run
  publishes (errors counted), and whether a run still publishes while a reader holds the BI copy read-write;
- PII scan: the BI copy of $SMB_DATA_DIR's published warehouse (``make demo`` first) against the
  e-mails, phones, IBANs and names of its raw layer (orchestration/privacy/scan.py);
- erasure check: on a temporary copy of that data dir, one data subject erased; values found afterwards in
  the published warehouse (all schemas), the BI copy, the kept publishes and the review store.
Each measurement runs on its own temporary data; $SMB_DATA_DIR is only read.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb

from benchmarks.faults import report_path, run_trials
from smb_warehouse.core import paths
from smb_warehouse.core.config import environment
from smb_warehouse.core.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[1]


def _pytest(files: list[str]) -> tuple[int, int, list[str]]:
    """(passed, total, failed test names) of the given test files, run in a subprocess."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.xml"
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", *files],
                       cwd=ROOT, capture_output=True, text=True)
        xml = report.read_text() if report.exists() else ""
    cases = re.findall(r'<testcase [^>]*name="([^"]+)"[^>]*?(/>|>(.*?)</testcase>)', xml, flags=re.S)
    failed = [name for name, _, body in cases if body and ("<failure" in body or "<error" in body)]
    passed = sum(1 for _, _, body in cases if not body or not re.search(r"<(failure|error|skipped)", body))
    return passed, len(cases), failed


def bad_input_kinds() -> dict[str, str]:
    shared_dir = ROOT / "tests" / "ingestion" / "fixtures" / "cases"
    cases = sorted(p.name for p in shared_dir.iterdir() if p.is_dir())
    passed, total, failed = _pytest(["tests/ingestion/test_ingestion_cases.py"])
    broken = {c for c in cases for f in failed if f.startswith(f"test_{c[:2]}_")}
    corpus = _pytest(["tests/ingestion/test_ingestion_kinds.py", "tests/ingestion/test_ingestion_csv.py",
                      "tests/ingestion/test_ingestion_json.py"])
    return {"shared real-export cases handled": f"{len(cases) - len(broken)} of {len(cases)} kinds ({passed}/{total} tests)",
            "loader corpus cases handled": f"{corpus[0]} of {corpus[1]}"}


def _fast_env(data: Path, landing: Path, wait: str = "0") -> dict[str, str]:
    env = {**os.environ, "SMB_DATA_DIR": str(data), "SMB_LANDING_DIR": str(landing), "SMB_WRITER_WAIT_SECONDS": wait,
           "PYTHONUNBUFFERED": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def _child(env: dict, mode: str = "fast") -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "benchmarks.faults", "child", "--mode", mode], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def concurrency(work: Path) -> dict[str, str]:
    from sme_sim import generate

    landing = work / "landing"
    generate(landing, work / "truth", seed=11, scale=0.02)
    data = work / "data"
    # writers: two runs at once
    a, b = _child(_fast_env(data, landing)), _child(_fast_env(data, landing))
    outs = [p.communicate()[0] for p in (a, b)]
    codes = [a.returncode, b.returncode]
    refused = sum(1 for code, out in zip(codes, outs) if code != 0 and "another run holds the warehouse" in out)
    other = sum(1 for code, out in zip(codes, outs) if code != 0 and "another run holds the warehouse" not in out)
    with environment({"SMB_DATA_DIR": str(data)}):
        wh = Warehouse()
        published = len(wh.history())
        bi = wh.bi_path
    writers = f"2 started together: {published} published, {refused} refused with the holder named, {other} failed otherwise"
    # readers: read-only connections on the BI copy while the next run publishes
    stop, counts = threading.Event(), {"queries": 0, "errors": 0}

    def read() -> None:
        while not stop.is_set():
            try:
                con = duckdb.connect(str(bi), read_only=True)
                con.execute("SELECT count(*) FROM meta.publish_info").fetchone()
                con.close()
                counts["queries"] += 1
            except duckdb.Error:
                counts["errors"] += 1

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    run = _child(_fast_env(data, landing))
    run_out = run.communicate()[0]
    stop.set()
    for t in threads:
        t.join()
    readers = (f"{counts['queries']} read-only connections on the BI copy during a publish, {counts['errors']} errors; "
               f"the run {'published' if run.returncode == 0 else 'FAILED: ' + run_out[-200:]}")
    # a reader holding the BI copy read-write, as the DuckDB CLI does by default
    hold = "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('held', flush=True); sys.stdin.readline()"
    holder = subprocess.Popen([sys.executable, "-c", hold, str(bi)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    holder.stdout.readline()
    before = len(Warehouse(data / "warehouse").history())
    blocked = _child(_fast_env(data, landing))
    blocked_out = blocked.communicate()[0]
    holder.stdin.write("\n")
    holder.stdin.flush()
    holder.wait()
    after = len(Warehouse(data / "warehouse").history())
    rw = ("the next run published" if blocked.returncode == 0 and after == before + 1
          else "the next run did NOT publish: " + blocked_out[-200:])
    return {"concurrent writers": writers, "concurrent readers": readers,
            "reader holding the BI copy read-write": rw}


def pii_and_erasure(work: Path) -> dict[str, str]:
    from orchestration.privacy.erasure import erase, resolve
    from orchestration.privacy.scan import is_organisation_name, personal_values, scan
    from smb_warehouse.core import erasure
    from smb_warehouse.reconciliation import decisions

    wh = Warehouse()
    if not wh.published_path.exists() or not wh.bi_path.exists():
        return {"PII scan of the BI copy": f"n/a: no published warehouse with a BI copy in {wh.root} (make demo)",
                "erasure check": "n/a (make demo)"}
    needles = personal_values(wh.published_path)
    relations, values, hits = scan(wh.bi_path, needles, limit=1000)
    found = {k: len(v) for k, v in needles.items()}
    pii = (f"{relations} relations, {values} text values against {sum(found.values())} personal values from raw "
           f"({found['email']} e-mails, {found['phone']} phones, {found['iban']} IBANs, {found['name']} names): "
           f"{len(hits)} found in clear")
    # erasure on a copy
    copy = work / "data"
    copy.mkdir()
    for name in ("warehouse", "review", "secrets", "privacy"):
        if (paths.data_dir() / name).exists():
            shutil.copytree(paths.data_dir() / name, copy / name, ignore=shutil.ignore_patterns("candidate*", "*.wal"))
    with environment({"SMB_DATA_DIR": str(copy), "SMB_WAREHOUSE_DIR": None}):
        twh = Warehouse()
        con = duckdb.connect(str(twh.published_path), read_only=True)
        rows = con.execute("SELECT lower(email), customer_name FROM raw.erp__customers WHERE email IS NOT NULL "
                           "ORDER BY customer_id").fetchall()
        email = next((e for e, n in rows if not is_organisation_name(n)), rows[0][0])
        subject = resolve(con, "email", email)
        con.close()
        t0 = time.monotonic()
        result = erase("email", email, "make reliability", "erasure check on a copy")
        seconds = time.monotonic() - t0
        left = 0
        for path in [twh.published_path, twh.bi_path] + [e.path for e in twh.history()]:
            c = duckdb.connect(str(path), read_only=True)
            left += sum(erasure.find_values(c, subject.values).values())
            c.close()
        store = decisions.store_path()
        if store.exists():
            with sqlite3.connect(store) as s:
                text = " ".join(str(v) for row in s.execute("SELECT * FROM decisions").fetchall() for v in row).lower()
            left += sum(text.count(v.lower()) for v in subject.values)
    erased = (f"1 subject ({sum(len(r) for r in subject.rows.values())} raw rows in {len(subject.rows)} tables, "
              f"{len(subject.values)} values): {sum(result.redacted.values())} rows redacted in {seconds:.0f} s; "
              f"values found afterwards (all schemas, BI copy, kept publishes, review store): {left}")
    return {"PII scan of the BI copy": pii, "erasure check": erased}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reliability", description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=3, help="fresh fast-mode fault trials")
    args = parser.parse_args(argv)
    table: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="smb-reliability-") as tmp:
        work = Path(tmp)
        report = run_trials(args.trials, "fast", workdir=work / "faults", log=lambda *a: None)
        table["fault trials (fast mode, now)"] = (
            f"{report.trials} trials, {report.killed} killed: {report.inconsistent_publishes} inconsistent publishes, "
            f"{report.failed_recoveries} failed recoveries, {report.rows_lost} rows lost, {report.rows_doubled} doubled")
        saved = report_path("job")
        if saved.exists():
            job = json.loads(saved.read_text())
            table["fault trials (main job, last make test-faults)"] = (
                f"{job['trials']} trials, {job['killed']} killed: {job['inconsistent_publishes']} inconsistent publishes, "
                f"{job['failed_recoveries']} failed recoveries, {job['rows_lost']} rows lost, {job['rows_doubled']} doubled, "
                f"{job['registry_disagreements_after_recovery']} registry disagreements")
        else:
            table["fault trials (main job)"] = "no saved report: run make test-faults"
        table.update(bad_input_kinds())
        (work / "concurrency").mkdir()
        table.update(concurrency(work / "concurrency"))
        (work / "erasure").mkdir()
        table.update(pii_and_erasure(work / "erasure"))
    width = max(map(len, table))
    print("\nReliability and security\n")
    for name, value in table.items():
        print(f"  {name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
