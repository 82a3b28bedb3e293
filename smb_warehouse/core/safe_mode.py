"""Circuit breakers ("safe mode") of the AI workflows, and what each run of a workflow served.

Every AI workflow (demand_forecasting, ap_reconciliation, support_triage, ...) normally acts on its model's
output. When one of its guards breaches its threshold (an input contract check, a drift check, a live KPI),
the workflow OPENS its breaker: it switches to its safe mode (forecasting: champion or baseline only, no
promotion; AP: no auto-match, everything to review; triage: every ticket to a person) and stays there until
it is CLOSED, by a person (``python -m smb_warehouse.core.safe_mode close ...`` / ``make safe-mode``) or by a
later run whose guards are all healthy. A breaker a person opened is closed only by a person (a run's
guards do not know why the person froze the workflow). Every switch is alerted through
``smb_warehouse.core.notify`` (the log by default, a webhook when configured).

Where the state lives: an SQLite file ($SMB_DATA_DIR/safe_mode/workflow_modes.sqlite), for the reasons given in
``smb_warehouse.reconciliation.decisions``: the published warehouse is replaced wholesale by every publish (a
switch written into it by a person would vanish), and a person closes a breaker while a run may be writing.
Mode changes are append-only (SQLite triggers abort UPDATE and DELETE); the latest change per workflow is its
state. Each run copies the whole store into the warehouse (``write_to_warehouse``) as two tables declared in
models/sources/_safe_mode__sources.yml, which the marts kpi_ml__workflow_health and fct_workflow_mode_changes
read:

    ml.workflow_safe_mode_log   one row per switch: change_id, seq, workflow, state (open | closed), mode,
                                reason, changed_by, changed_by_kind (person | run), changed_at (UTC), dagster_run_id
    ml.workflow_run_outcomes    one row per (workflow, Dagster run): what served the workflow's output
                                (``serving``, e.g. "demand_forecaster v3" or "baseline:seasonal_naive"),
                                whether that was a fallback (``degraded``), the gate verdict of the run
                                (``gate_passed``, NULL when no gate ran), the breaker state and mode it ran
                                under, and a one-line ``detail``

Using it from a workflow's asset (the pattern the forecasting assets follow)::

    from smb_warehouse.core import safe_mode

    problems = my_guards()                           # [] when healthy
    if problems:
        safe_mode.open_breaker(WORKFLOW, "all_to_review", "; ".join(problems), by="pipeline", run_id=run_id)
    else:
        safe_mode.close_breaker(WORKFLOW, "guards healthy", by="pipeline", run_id=run_id)  # no-op unless a run opened it
    if safe_mode.state(WORKFLOW).is_open: ...        # act in safe mode
    safe_mode.record_run(WORKFLOW, run_id, serving="invoice_match_scorer v4", degraded=False, gate_passed=True)

and add the asset's key to ``RECORDERS`` in orchestration/safe_mode/assets.py so the copy into the warehouse
runs after it.
"""
from __future__ import annotations

import argparse
import re
import sqlite3
import sys
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from smb_warehouse.core import notify, paths
from smb_warehouse.core.sql import append_only_triggers

OPEN, CLOSED = "open", "closed"
NORMAL_MODE = "normal"
PERSON, RUN = "person", "run"
LOG_TABLE = "ml.workflow_safe_mode_log"          # declared in models/sources/_safe_mode__sources.yml
OUTCOMES_TABLE = "ml.workflow_run_outcomes"
CHANGE_COLUMNS = ["change_id", "seq", "workflow", "state", "mode", "reason", "changed_by", "changed_by_kind",
                  "changed_at", "dagster_run_id"]
OUTCOME_COLUMNS = ["workflow", "dagster_run_id", "recorded_at", "serving", "degraded", "gate_passed",
                   "breaker_state", "mode", "detail"]
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS mode_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    change_id TEXT NOT NULL UNIQUE,
    workflow TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    mode TEXT NOT NULL CHECK (length(trim(mode)) > 0),
    reason TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    changed_by TEXT NOT NULL CHECK (length(trim(changed_by)) > 0),
    changed_by_kind TEXT NOT NULL CHECK (changed_by_kind IN ('person', 'run')),
    changed_at TEXT NOT NULL,
    dagster_run_id TEXT,
    CHECK (changed_by_kind = 'person' OR dagster_run_id IS NOT NULL)
);
""" + append_only_triggers("mode_changes", "safe-mode changes are append-only: record a new change instead") + """
CREATE TABLE IF NOT EXISTS run_outcomes (
    workflow TEXT NOT NULL,
    dagster_run_id TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    serving TEXT NOT NULL,
    degraded INTEGER NOT NULL CHECK (degraded IN (0, 1)),
    gate_passed INTEGER CHECK (gate_passed IN (0, 1)),
    breaker_state TEXT NOT NULL CHECK (breaker_state IN ('open', 'closed')),
    mode TEXT NOT NULL,
    detail TEXT,
    PRIMARY KEY (workflow, dagster_run_id)
);
"""


@dataclass(frozen=True)
class BreakerState:
    """A workflow's breaker as of its latest change. Never opened: closed, mode ``normal``, no change."""

    workflow: str
    state: str                      # open | closed
    mode: str                       # the safe mode while open; "normal" while closed
    reason: str
    changed_by: str | None
    changed_by_kind: str | None     # person | run | None (never switched)
    changed_at: datetime | None     # UTC, naive
    dagster_run_id: str | None

    @property
    def is_open(self) -> bool:
        return self.state == OPEN


@dataclass(frozen=True)
class Switch:
    """What ``open_breaker`` / ``close_breaker`` did: ``changed`` is False when the call changed nothing
    (already open, already closed, or a run asked to close a breaker a person opened)."""

    changed: bool
    state: BreakerState
    note: str = ""


def store_path() -> Path:
    """The SQLite store (created on first write)."""
    return paths.data_dir() / "safe_mode" / "workflow_modes.sqlite"


@contextmanager
def _connect(path: Path | None = None) -> Iterator[sqlite3.Connection]:
    path = path or store_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(str(path), timeout=30)) as con:
        con.executescript(_SCHEMA)
        yield con


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _check_name(workflow: str) -> str:
    if not _NAME.match(workflow or ""):
        raise ValueError(f"workflow must be a lower-case identifier like 'demand_forecasting', not {workflow!r}")
    return workflow


def state(workflow: str, path: Path | None = None) -> BreakerState:
    """The breaker of ``workflow`` now. Raises ``ValueError`` for a name that is not a lower-case identifier."""
    _check_name(workflow)
    if not (path or store_path()).exists():
        return BreakerState(workflow, CLOSED, NORMAL_MODE, "never opened", None, None, None, None)
    with _connect(path) as con:
        row = con.execute("SELECT state, mode, reason, changed_by, changed_by_kind, changed_at, dagster_run_id "
                          "FROM mode_changes WHERE workflow = ? ORDER BY seq DESC LIMIT 1", [workflow]).fetchone()
    if row is None:
        return BreakerState(workflow, CLOSED, NORMAL_MODE, "never opened", None, None, None, None)
    return BreakerState(workflow, row[0], row[1], row[2], row[3], row[4], datetime.fromisoformat(row[5]), row[6])


def _append(workflow: str, new_state: str, mode: str, reason: str, by: str, by_kind: str, run_id: str | None,
            path: Path | None) -> BreakerState:
    if by_kind not in (PERSON, RUN):
        raise ValueError(f"by_kind must be {PERSON!r} or {RUN!r}, not {by_kind!r}")
    if by_kind == RUN and not run_id:
        raise ValueError("a change made by a run needs its run_id")
    if not (by or "").strip() or not (reason or "").strip():
        raise ValueError("a safe-mode change needs who (by) and why (reason)")
    at = _now()
    with _connect(path) as con, con:
        con.execute("INSERT INTO mode_changes (change_id, workflow, state, mode, reason, changed_by, changed_by_kind, "
                    "changed_at, dagster_run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [str(uuid.uuid4()), workflow, new_state, mode, reason.strip(), by.strip(), by_kind,
                     at.isoformat(timespec="microseconds"), run_id])
    return BreakerState(workflow, new_state, mode, reason.strip(), by.strip(), by_kind, at, run_id)


def _alert(subject: str, current: BreakerState) -> None:
    notify.Notifier.from_env().send(subject, [{
        "workflow": current.workflow, "state": current.state, "mode": current.mode, "reason": current.reason,
        "changed_by": current.changed_by, "changed_by_kind": current.changed_by_kind,
        "changed_at": current.changed_at, "dagster_run_id": current.dagster_run_id}])


def open_breaker(workflow: str, mode: str, reason: str, by: str, by_kind: str = RUN, run_id: str | None = None,
                 path: Path | None = None) -> Switch:
    """Switch ``workflow`` to safe mode ``mode`` (e.g. "champion_or_baseline", "all_to_review") because of
    ``reason``; ``by`` names the person, or "pipeline" for a run (``by_kind="run"`` needs ``run_id``).

    Already open: nothing is recorded (the first reason stands; ``Switch.changed`` is False), unless the mode
    differs, which records a new change. Sends one alert per recorded change. Raises ``ValueError`` for an
    empty who/why, an unknown ``by_kind`` or a run change without ``run_id``.
    """
    _check_name(workflow)
    if not (mode or "").strip() or mode == NORMAL_MODE:
        raise ValueError(f"open_breaker needs a safe mode other than {NORMAL_MODE!r}")
    current = state(workflow, path)
    if current.is_open and current.mode == mode:
        return Switch(False, current, f"already open since {current.changed_at} ({current.reason})")
    new = _append(workflow, OPEN, mode, reason, by, by_kind, run_id, path)
    _alert(f"{workflow}: circuit breaker OPEN, safe mode {mode}", new)
    return Switch(True, new)


def close_breaker(workflow: str, reason: str, by: str, by_kind: str = RUN, run_id: str | None = None,
                  path: Path | None = None) -> Switch:
    """Back to normal mode. A run (``by_kind="run"``) closes only a breaker a run opened; a person closes any.
    Already closed: nothing recorded. Sends one alert per recorded change. Errors as ``open_breaker``."""
    _check_name(workflow)
    current = state(workflow, path)
    if not current.is_open:
        return Switch(False, current, "already closed")
    if by_kind == RUN and current.changed_by_kind == PERSON:
        return Switch(False, current, f"opened by {current.changed_by} (a person): only a person closes it")
    new = _append(workflow, CLOSED, NORMAL_MODE, reason, by, by_kind, run_id, path)
    _alert(f"{workflow}: circuit breaker closed, back to normal mode", new)
    return Switch(True, new)


def record_run(workflow: str, run_id: str, serving: str, degraded: bool, gate_passed: bool | None = None,
               detail: str = "", path: Path | None = None) -> None:
    """Record what served ``workflow``'s output in Dagster run ``run_id`` (a re-execution of the same run
    replaces its row). The breaker state and mode are read from the store at the time of the call."""
    _check_name(workflow)
    if not run_id or not (serving or "").strip():
        raise ValueError("record_run needs the run id and what served the output")
    current = state(workflow, path)
    with _connect(path) as con, con:
        con.execute("INSERT OR REPLACE INTO run_outcomes (workflow, dagster_run_id, recorded_at, serving, degraded, "
                    "gate_passed, breaker_state, mode, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [workflow, run_id, _now().isoformat(timespec="microseconds"), serving.strip(), int(bool(degraded)),
                     None if gate_passed is None else int(bool(gate_passed)), current.state, current.mode, detail])


def changes(workflow: str | None = None, path: Path | None = None) -> pd.DataFrame:
    """Every mode change in the order recorded (CHANGE_COLUMNS; changed_at as datetime64), optionally of one workflow."""
    if not (path or store_path()).exists():
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    with _connect(path) as con:
        sql = f"SELECT {', '.join(CHANGE_COLUMNS)} FROM mode_changes" + (" WHERE workflow = ?" if workflow else "")
        frame = pd.read_sql_query(sql + " ORDER BY seq", con, params=[workflow] if workflow else [])
    frame["changed_at"] = pd.to_datetime(frame["changed_at"])
    return frame


def run_outcomes(workflow: str | None = None, path: Path | None = None) -> pd.DataFrame:
    """Every recorded run outcome (OUTCOME_COLUMNS; degraded/gate_passed as booleans, gate_passed nullable)."""
    if not (path or store_path()).exists():
        return pd.DataFrame(columns=OUTCOME_COLUMNS)
    with _connect(path) as con:
        sql = f"SELECT {', '.join(OUTCOME_COLUMNS)} FROM run_outcomes" + (" WHERE workflow = ?" if workflow else "")
        frame = pd.read_sql_query(sql + " ORDER BY recorded_at", con, params=[workflow] if workflow else [])
    frame["recorded_at"] = pd.to_datetime(frame["recorded_at"])
    frame["degraded"] = frame["degraded"].astype(bool)
    frame["gate_passed"] = frame["gate_passed"].map({1: True, 0: False}).astype("boolean")
    return frame


def write_to_warehouse(con, path: Path | None = None) -> tuple[int, int]:
    """Replace ml.workflow_safe_mode_log and ml.workflow_run_outcomes with the whole store, in one transaction
    (``con``: a DuckDB connection to the run's candidate). Returns (changes, outcomes) written."""
    from smb_warehouse.core.warehouse import Replace, write_tables

    log, outcomes = changes(path=path), run_outcomes(path=path)
    write_tables(con, [Replace(LOG_TABLE, log), Replace(OUTCOMES_TABLE, outcomes)])
    return len(log), len(outcomes)


def _print_states(workflows: list[str]) -> None:
    if not workflows:
        print("no workflow has ever switched mode")
    for name in workflows:
        s = state(name)
        since = f" since {s.changed_at:%Y-%m-%d %H:%M} UTC by {s.changed_by} ({s.changed_by_kind})" if s.changed_at else ""
        print(f"{name}: {s.state}, mode {s.mode}{since}: {s.reason}")


def main(argv: list[str] | None = None) -> int:
    """``status [WORKFLOW]`` | ``open WORKFLOW --mode M --by NAME --why TEXT`` | ``close WORKFLOW --by NAME --why TEXT``.
    Prints one line per workflow; errors as one line on stderr and exit code 1 (no stack trace)."""
    parser = argparse.ArgumentParser(prog="python -m smb_warehouse.core.safe_mode",
                                     description="Circuit breakers of the AI workflows (safe mode).")
    sub = parser.add_subparsers(dest="command", required=True)
    st = sub.add_parser("status", help="current state of every workflow (or one)")
    st.add_argument("workflow", nargs="?")
    for name in ("open", "close"):
        p = sub.add_parser(name, help=f"{name} a workflow's breaker, as a person")
        p.add_argument("workflow")
        if name == "open":
            p.add_argument("--mode", required=True, help="the safe mode, e.g. champion_or_baseline, all_to_review")
        p.add_argument("--by", required=True, help="your name")
        p.add_argument("--why", required=True, help="the reason, kept in the log")
    args = parser.parse_args(argv)
    try:
        if args.command == "status":
            _print_states([args.workflow] if args.workflow else sorted(set(changes()["workflow"])))
            return 0
        if args.command == "open":
            result = open_breaker(args.workflow, args.mode, args.why, by=args.by, by_kind=PERSON)
        else:
            result = close_breaker(args.workflow, args.why, by=args.by, by_kind=PERSON)
    except (ValueError, sqlite3.Error) as exc:
        print(f"safe-mode: {exc}", file=sys.stderr)
        return 1
    print(f"{args.workflow}: {'now ' if result.changed else 'unchanged, '}{result.state.state}, mode {result.state.mode}"
          + (f" ({result.note})" if result.note else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
