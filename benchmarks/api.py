"""API and event-intake latency benchmark.

    python -m benchmarks.api [--scale 5 --seed 42] [--workdir DIR] [--queries 400] [--events 1000] [--rate 200]

1. A warehouse at ``--scale``: sme_sim extracts and one ``warehouse_job`` run in ``--workdir`` (default
   ``$SMB_DATA_DIR/bench_api/scale-<scale>``), reused when it is already published there.
2. API latency while a run publishes: ``make api``'s server (uvicorn, its own process) answers a forecast
   query (one SKU/location, a 14-day range) and a review-queue query (first page of 50), alternating, for as
   long as an ``apply_review_decisions_job`` run (another process: rescore, rebuild, publish) is going and at
   least ``--queries`` of each; p50/p99/max per query and how many publishes the server followed.
3. Event-to-decision latency: a redis-server and ``python -m events serve`` (own processes); ``--events``
   bank lines and tickets replayed from the extracts at ``--rate`` per second; latency per event = decided_at
   - published_at (same clock), p50/p99/max, and the throughput.
Targets (issue 15): p99 < 100 ms for both queries; event-to-decision p99 < 2 s.
"""
from __future__ import annotations

import argparse
import os
import secrets
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from smb_warehouse.core import paths
from smb_warehouse.core.config import environment

PY = sys.executable


def _env(data: Path, landing: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "SMB_DATA_DIR": str(data), "SMB_LANDING_DIR": str(landing), "DO_NOT_TRACK": "1",
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "MLFLOW_DISABLE_TELEMETRY": "true", **extra}
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def _run_job(job: str) -> None:
    """Run one Dagster job in this process (called as a subprocess with the bench environment)."""
    from dagster import DagsterInstance

    from orchestration.definitions import defs

    result = defs.resolve_job_def(job).execute_in_process(instance=DagsterInstance.ephemeral(), raise_on_error=False)
    if not result.success:
        raise SystemExit(f"{job} failed: {[e.message for e in result.all_events if e.is_step_failure]}")


def prepare(workdir: Path, scale: float, seed: int) -> tuple[Path, Path]:
    data, landing = workdir / "data", workdir / "landing"
    published = data / "warehouse" / "warehouse.duckdb"
    if published.exists():
        made = (workdir / "scale.txt").read_text().strip() if (workdir / "scale.txt").exists() else "unknown"
        print(f"reusing the published warehouse in {workdir} (generated at scale {made})")
        return data, landing
    if not landing.exists():
        from sme_sim import generate

        t0 = time.perf_counter()
        generate(landing, workdir / "ground_truth", seed=seed, scale=scale)
        (workdir / "scale.txt").write_text(f"{scale:g} (seed {seed})\n")
        print(f"generated scale {scale} extracts in {time.perf_counter() - t0:.0f} s")
    t0 = time.perf_counter()
    subprocess.run([PY, "-m", "benchmarks.api", "_job", "warehouse_job"], env=_env(data, landing), check=True)
    print(f"warehouse_job at scale {scale}: {time.perf_counter() - t0:.0f} s")
    return data, landing


def _pct(values: list[float]) -> str:
    a = np.array(values)
    return f"p50 {np.percentile(a, 50):7.1f} ms  p99 {np.percentile(a, 99):7.1f} ms  max {a.max():7.1f} ms  (n={len(a)})"


def api_latency(data: Path, landing: Path, min_queries: int) -> dict[str, list[float]]:
    import duckdb
    import httpx

    from events.broker import free_port

    published = data / "warehouse" / "warehouse.duckdb"
    con = duckdb.connect(str(published), read_only=True)
    try:
        from smb_warehouse.core import python_tables

        pairs = con.execute(f"SELECT DISTINCT sku, location_id, min(forecast_date) OVER (PARTITION BY sku, location_id) "
                            f"FROM {python_tables.table('ml.demand_forecasts').relation} ORDER BY 1, 2").fetchall()
    finally:
        con.close()
    key = secrets.token_hex(20)
    port = free_port()
    env = _env(data, landing, SMB_API_KEYS=f"{key}:viewer:bench")
    server = subprocess.Popen([PY, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1", "--port", str(port),
                               "--log-level", "warning"], env=env)
    run = None
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": key}, timeout=30)
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.get("/v1/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the API did not start")
            time.sleep(0.2)
        for _ in range(20):  # warm-up: open the warehouse, import paths
            client.get("/v1/review-queue?limit=50")
            client.get(f"/v1/forecasts?sku={pairs[0][0]}&location_id={pairs[0][1]}")
        inode_before = client.get("/v1/health").json()["published_warehouse"]["inode"]
        run = subprocess.Popen([PY, "-m", "benchmarks.api", "_job", "apply_review_decisions_job"], env=_env(data, landing),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        lat: dict[str, list[float]] = {"forecast": [], "review_queue": []}
        inodes = {inode_before}
        rng = np.random.default_rng(0)
        while run.poll() is None or min(len(v) for v in lat.values()) < min_queries:
            sku, location, first = pairs[int(rng.integers(len(pairs)))]
            t0 = time.perf_counter()
            r = client.get("/v1/forecasts", params={"sku": sku, "location_id": location, "date_from": str(first),
                                                    "date_to": str(np.datetime64(first) + np.timedelta64(13, "D"))})
            lat["forecast"].append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.text
            t0 = time.perf_counter()
            r = client.get("/v1/review-queue", params={"limit": 50})
            lat["review_queue"].append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.text
            if len(lat["forecast"]) % 25 == 0:
                inodes.add(client.get("/v1/health").json()["published_warehouse"]["inode"])
            time.sleep(0.01)
        inodes.add(client.get("/v1/health").json()["published_warehouse"]["inode"])
        if run.returncode != 0:
            raise RuntimeError(f"apply_review_decisions_job failed ({run.returncode})")
        lat["publishes_followed"] = [len(inodes) - 1]
        return lat
    finally:
        if run is not None and run.poll() is None:
            run.terminate()
            run.wait(timeout=60)
        server.terminate()
        server.wait(timeout=30)


def event_latency(data: Path, landing: Path, n_events: int, rate: float) -> tuple[list[float], float]:
    from events.broker import client, start_redis
    from events.replay import replay

    broker = start_redis()
    store = data / "events" / f"bench-{secrets.token_hex(4)}.sqlite"
    env = _env(data, data / "event_landing", SMB_REDIS_URL=broker.url, SMB_EVENT_STORE=str(store),
               SMB_EVENT_STREAM=f"bench:{secrets.token_hex(4)}")
    consumer = subprocess.Popen([PY, "-m", "events", "serve", "--name", "bench"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    try:
        redis = client(broker.url)
        with environment({"SMB_EVENT_STREAM": env["SMB_EVENT_STREAM"]}):
            # readiness: the consumer has warmed its profiles and models once one probe event is decided
            replay(redis, landing, 0, ["support_ticket.created"], 1, prefix="probe")
            _wait_decisions(store, 1, "probe:", 180)
            prefix = f"bench{secrets.token_hex(3)}"
            t0 = time.perf_counter()
            half = n_events // 2
            sent = replay(redis, landing, rate / 2 if rate else 0, ["bank_transaction.created"], half, prefix=prefix)
            sent += replay(redis, landing, rate / 2 if rate else 0, ["support_ticket.created"], n_events - half, prefix=prefix)
            latencies = _wait_decisions(store, sent, f"{prefix}:", 600)
            elapsed = time.perf_counter() - t0
        return latencies, sent / elapsed
    finally:
        consumer.terminate()
        consumer.wait(timeout=60)
        broker.stop()


def _wait_decisions(store: Path, n: int, prefix: str, timeout: float) -> list[float]:
    """Latencies (ms) of the decisions on events ``prefix``*, once all ``n`` events are recorded (landed or
    quarantined: a record the contract refuses gets no decision, as it should)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if store.exists():
            con = sqlite3.connect(str(store), timeout=30)
            try:
                seen = con.execute("SELECT count(*) FROM events WHERE event_id LIKE ? || '%'", [prefix]).fetchone()[0]
                rows = [r[0] for r in con.execute("SELECT latency_ms FROM decisions WHERE event_id LIKE ? || '%'", [prefix])]
            except sqlite3.OperationalError:
                seen, rows = 0, []
            finally:
                con.close()
            if seen >= n and rows:
                return rows
        time.sleep(0.25)
    raise RuntimeError(f"not all {n} events {prefix}* were recorded within {timeout} s")


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) > 2 and sys.argv[1] == "_job":
        _run_job(sys.argv[2])
        return 0
    p = argparse.ArgumentParser(prog="python -m benchmarks.api", description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=5)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--workdir", default=None)
    p.add_argument("--queries", type=int, default=400, help="at least this many of each query")
    p.add_argument("--events", type=int, default=1000)
    p.add_argument("--rate", type=float, default=200, help="events per second (0: as fast as possible)")
    args = p.parse_args(argv)
    workdir = Path(args.workdir) if args.workdir else paths.data_dir() / "bench_api" / f"scale-{args.scale:g}"
    workdir.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    print(f"workdir {workdir}; load average {load:.1f} on {os.cpu_count()} cores")
    data, landing = prepare(workdir, args.scale, args.seed)
    lat = api_latency(data, landing, args.queries)
    print("API latency while apply_review_decisions_job runs and publishes "
          f"({lat.pop('publishes_followed')[0]} publish(es) followed by the server):")
    for name, values in lat.items():
        print(f"  {name:<13} {_pct(values)}   target p99 < 100 ms: {'met' if np.percentile(values, 99) < 100 else 'MISSED'}")
    events, throughput = event_latency(data, landing, args.events, args.rate)
    print(f"event -> decision, {len(events)} decisions on events replayed at {args.rate:g}/s ({throughput:.0f}/s end to end; "
          "records the contract refuses are quarantined, without a decision):")
    print(f"  {'latency':<13} {_pct(events)}   target p99 < 2000 ms: {'met' if np.percentile(events, 99) < 2000 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
