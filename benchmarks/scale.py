"""The simulator at a size, end to end: `python -m benchmarks.scale [--scale 500]` (`make bench-scale`).

Issue 12 asks for a run with at least 20 million order lines on a 2-core, 24 GiB machine (peak RSS <= 8 GiB).
The simulation writes about 42,000 order lines per unit of scale (42,879 at scale 1, 830,365 at scale 20,
21,159,951 at scale 500), so the default scale, 500, lands about 21.2 million. This command

1. generates the landing zone (``python -m sme_sim generate`` in a child process: its time and peak RSS);
2. runs the main job once into an empty warehouse, as `make demo` does (``python -m orchestration.cli demo`` in a
   fresh process, one data dir and Dagster instance of its own; ``benchmarks.runs.run_job``);

and prints the order lines generated, the landing zone's size, then the job's time per phase (load: the ingestion
steps and the ledger; build: the dbt steps; ML and workflows: every other Python asset; publish; and what the run
spent outside its steps: process start, definitions, the run's own bookkeeping), the run's wall time, the
published file's size and memory figures: per phase and per step, and for the generation and the whole run, the
peak of the summed resident set of every process this command started (sampled every 0.5 s from /proc: the Python
run and its dbt process live at the same time, so this is the figure to hold against the 8 GiB) and the largest
single process (``ru_maxrss``).

It takes long at the default scale (hours on 2 cores, tens of GB on disk: about 60 MB per unit of scale): it is a
command, not a test, and it asserts nothing. It works in ``--work DIR`` (default ``data/bench_scale``, which must
be empty or absent; it checks the free disk space first) and removes it after a successful run unless ``--keep``;
after a failure it stays, with the generation's output in ``DIR/generate.log``, the terminal lines of the run in
``DIR/run.log`` and the full Dagster log under ``DIR/data/logs/`` (under ``SMB_LOGS_DIR`` when that is set);
``--reuse-landing`` then runs again on the same landing zone without generating it anew. ``--scale 20`` checks
the command itself in a few minutes (measured 2026-12-01: 3.5 min).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchmarks.runs import ROOT, run_env, run_job

ORDER_LINES_PER_SCALE = 42_300  # measured: 21,159,951 order lines at scale 500 (seed 42)
TARGET_ORDER_LINES = 20_000_000
DISK_BYTES_PER_SCALE = 60e6  # measured at scale 20: landing 159 MB, candidate 481 MB, published + BI copy, logs

_GENERATE = """
import resource, sys
from sme_sim.cli import main
code = main(sys.argv[1:])
print(f"BENCH_PEAK_RSS_KIB={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", file=sys.stderr)
sys.exit(code or 0)
"""


class TreeRss:
    """Peak of the summed resident set (MiB) of every descendant of this process, sampled every ``interval``
    seconds from ``/proc/<pid>/status`` (VmRSS) on a daemon thread: ``with TreeRss() as rss: ...; rss.peak_mib``.
    Linux only; on another system ``peak_mib`` stays 0."""

    def __init__(self, interval: float = 0.5):
        self.interval, self.peak_mib = interval, 0.0
        self.samples: list[tuple[float, float]] = []  # (Unix time, summed MiB)
        self._stop = threading.Event()

    def peak_between(self, windows: list[tuple[float, float]]) -> float:
        """The largest sample taken inside any of ``windows`` ((start, end) Unix times), MiB; nan without one."""
        inside = [mib for at, mib in self.samples if any(start <= at <= end for start, end in windows)]
        return max(inside) if inside else float("nan")

    def _descendants_kib(self) -> int:
        parent: dict[int, int] = {}
        rss: dict[int, int] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                text = Path(entry.path, "status").read_text()
            except OSError:  # the process ended meanwhile
                continue
            fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
            parent[int(entry.name)] = int(fields.get("PPid", "0").strip())
            rss[int(entry.name)] = int(fields.get("VmRSS", "0 kB").split()[0]) if "VmRSS" in fields else 0
        me, total = os.getpid(), 0
        for pid in rss:
            p = parent.get(pid)
            while p and p != me:
                p = parent.get(p)
            if p == me:
                total += rss[pid]
        return total

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            mib = self._descendants_kib() / 1024
            self.samples.append((time.time(), mib))
            self.peak_mib = max(self.peak_mib, mib)

    def __enter__(self) -> TreeRss:
        if Path("/proc/self/status").exists():
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if hasattr(self, "_thread"):
            self._thread.join()


def phase_of(step: str) -> str:
    """The phase a step of the main job belongs to: ``load``, ``build (dbt)``, ``publish`` or ``ML and workflows``
    (``step`` as ``benchmarks.runs.run_job`` names it)."""
    if step.startswith("ingestion"):
        return "load"
    if step.startswith("dbt step"):
        return "build (dbt)"
    if step == "published_warehouse":
        return "publish"
    return "ML and workflows"


def generate(landing: Path, truth: Path, scale: float, seed: int, log: Path) -> dict:
    """Generate the landing zone in a child process. Returns ``{"wall": seconds, "rss_mib": the child's peak RSS
    (MiB), "rows": {"system/entity": rows}, "bytes": the landing zone's size}``. Raises ``RuntimeError`` naming
    the log when the generation fails."""
    start = time.perf_counter()
    with log.open("w") as out:
        done = subprocess.run([sys.executable, "-c", _GENERATE, "generate", "--out", str(landing), "--truth", str(truth),
                               "--scale", f"{scale:g}", "--seed", str(seed), "--force"],
                              cwd=ROOT, stdout=out, stderr=subprocess.PIPE, text=True)
        out.write(done.stderr)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"generation failed (exit {done.returncode}); log: {log}")
    rss = next((int(x.split("=", 1)[1]) for x in done.stderr.splitlines() if x.startswith("BENCH_PEAK_RSS_KIB=")), 0)
    return {"wall": wall, "rss_mib": rss / 1024, **landing_figures(landing, truth)}


def landing_figures(landing: Path, truth: Path) -> dict:
    """``{"rows": {"system/entity": rows} from the simulator's manifest, "bytes": the landing zone's size}``."""
    return {"rows": json.loads((truth / "manifest.json").read_text())["row_counts"],
            "bytes": sum(f.stat().st_size for f in landing.rglob("*") if f.is_file())}


def report(scale: float, gen: dict, run: dict) -> None:
    """Print the figures: ``gen`` from :func:`generate` plus ``tree_mib``, ``run`` from ``benchmarks.runs.run_job``
    plus ``tree_mib`` (the summed peak of :class:`TreeRss`), ``step_mib`` (that peak per step) and ``phase_mib``
    (per phase: the memory in use while the phase ran, including what the run's process still holds from earlier
    phases; nan for a phase shorter than the 0.5 s sampling interval)."""
    lines = gen["rows"].get("erp/sales_order_lines", 0)
    print(f"\nscale {scale:g}: {lines:,} order lines ({'at least' if lines >= TARGET_ORDER_LINES else 'fewer than'} "
          f"{TARGET_ORDER_LINES:,}), {sum(gen['rows'].values()):,} landed rows in all, landing zone "
          f"{gen['bytes'] / 1e9:.2f} GB")
    print(f"  {'phase':<28}{'seconds':>10}{'peak RSS, all processes (MiB)':>32}{'largest process (MiB)':>24}")
    print(f"  {'generation':<28}{gen['wall']:>10.1f}{gen['tree_mib']:>32,.0f}{gen['rss_mib']:>24,.0f}")
    phases: dict[str, float] = {}
    for step, seconds in run["steps"].items():
        phases[phase_of(step)] = phases.get(phase_of(step), 0.0) + seconds
    for name in ("load", "build (dbt)", "ML and workflows", "publish"):
        print(f"  {'  ' + name:<28}{phases.get(name, 0.0):>10.1f}{run['phase_mib'].get(name, float('nan')):>32,.0f}")
    print(f"  {'  outside the steps':<28}{run['wall'] - sum(phases.values()):>10.1f}")
    if run.get("failed"):
        print("  the run FAILED: the figures are of the steps that ran")
    print(f"  {'main job (wall)':<28}{run['wall']:>10.1f}{run['tree_mib']:>32,.0f}{run['rss_mib']:>24,.0f}")
    print(f"  published file {run['mb']:,.1f} MB")
    slowest = sorted(run["steps"].items(), key=lambda kv: -kv[1])[:5]
    print("  slowest steps: " + ", ".join(f"{k} {v:.1f}s" for k, v in slowest))
    largest = sorted(run["step_mib"].items(), key=lambda kv: 0 if math.isnan(kv[1]) else -kv[1])[:5]
    print("  largest steps (peak RSS, all processes): " + ", ".join(f"{k} {v:,.0f} MiB" for k, v in largest))


def main() -> None:
    """Parse the arguments, check the work folder and the disk, generate, run, report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=500.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "bench_scale",
                        help="work folder (must be empty or absent; default data/bench_scale)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder after a successful run")
    parser.add_argument("--reuse-landing", action="store_true",
                        help="the work folder holds a landing zone this command generated (same scale and seed): "
                             "skip the generation, start the run afresh (its data and Dagster instance are removed)")
    args = parser.parse_args()
    work = args.work.absolute()
    reuse = args.reuse_landing and (work / "landing").is_dir() and (work / "truth" / "manifest.json").is_file()
    if args.reuse_landing and not reuse:
        parser.error(f"--reuse-landing: {work} holds no landing/ and truth/manifest.json of an earlier generation")
    if reuse:
        params = json.loads((work / "truth" / "manifest.json").read_text()).get("parameters", {})
        if float(params.get("scale", -1)) != args.scale or int(params.get("seed", -1)) != args.seed:
            parser.error(f"--reuse-landing: {work} was generated with {params}, not scale {args.scale:g} "
                         f"seed {args.seed}")
        for name in ("data", "dagster_home"):
            shutil.rmtree(work / name, ignore_errors=True)
    elif work.exists() and any(work.iterdir()):
        parser.error(f"{work} is not empty: remove it, name another --work folder or pass --reuse-landing")
    work.mkdir(parents=True, exist_ok=True)
    need, free = args.scale * DISK_BYTES_PER_SCALE, shutil.disk_usage(work).free
    if free < need:
        parser.error(f"about {need / 1e9:,.0f} GB of disk needed in {work}, {free / 1e9:,.0f} GB free")
    print(f"scale {args.scale:g}: about {args.scale * ORDER_LINES_PER_SCALE:,.0f} order lines expected; working in "
          f"{work} (the run's terminal lines: {work / 'run.log'})", flush=True)
    landing = work / "landing"
    if reuse:  # the figures of the generation that wrote it, from its generate.json
        gen = json.loads((work / "generate.json").read_text()) if (work / "generate.json").is_file() else \
            {"wall": float("nan"), "rss_mib": float("nan"), "tree_mib": float("nan")}
        gen.update(landing_figures(landing, work / "truth"))
        print("landing zone reused (generation figures from when it was generated)", flush=True)
    else:
        with TreeRss() as tree:
            gen = generate(landing, work / "truth", args.scale, args.seed, work / "generate.log")
        gen["tree_mib"] = tree.peak_mib
        (work / "generate.json").write_text(json.dumps({k: gen[k] for k in ("wall", "rss_mib", "tree_mib")}))
        print(f"generated in {gen['wall']:.1f}s", flush=True)
    env = run_env(work, "data", "dagster_home", landing)
    with TreeRss() as tree:
        run = run_job(env, work / "run.log", set(), allow_failure=True)
    run["tree_mib"] = tree.peak_mib
    run["step_mib"] = {step: tree.peak_between(windows) for step, windows in run["windows"].items()}
    run["phase_mib"] = {}  # a phase's peak is its steps' largest
    for step, mib in run["step_mib"].items():
        if not math.isnan(mib):
            run["phase_mib"][phase_of(step)] = max(run["phase_mib"].get(phase_of(step), mib), mib)
    report(args.scale, gen, run)
    if run["failed"]:
        sys.exit(f"the run FAILED (figures above are of the steps that ran); its log: {work / 'run.log'}")
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
