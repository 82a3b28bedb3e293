"""A quiet terminal for a job run started from the command line (`make demo`): one line per step with its
elapsed time, everything else in a log file under the data folder.

During the run, the process's standard output and error (dbt's output as Dagster relays it, MLflow and
library warnings, notification channels that print) are redirected at the file-descriptor level to
``$SMB_DATA_DIR/logs/<job>-<UTC time>.log``, together with every Dagster event at DEBUG level. The terminal
gets, through the Dagster logger ``step_progress``:

- one line for all the ingestion steps together (they are many and fast), then one line per other step
  (dbt steps are named by what they build: "dbt: 24 models, 118 tests"), each with its wall time;
- a failed step as one line while running, and after the run one paragraph per failed step (its error and
  causes, no stack trace) with the path of the full log.

Dagster loggers are the documented way to route a run's events (https://docs.dagster.io/api/dagster/loggers);
rich (https://rich.readthedocs.io) renders the lines, plain when the terminal is not interactive.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from dagster import AssetCheckKey, DagsterInstance, JobDefinition, logger
from dagster._core.log_manager import LOG_RECORD_METADATA_ATTR
from rich.console import Console

from smb_warehouse.core import paths

INGESTION_PREFIX = "raw__"  # the ingestion assets' step keys (one per contract entity)
_state: dict = {}  # the terminal and step labels of the run in progress (one in-process run at a time)


def logs_dir() -> Path:
    """``$SMB_LOGS_DIR``, default ``$SMB_DATA_DIR/logs``: one file per command-line run."""
    value = os.environ.get("SMB_LOGS_DIR")
    return Path(value).expanduser().resolve() if value else paths.data_dir() / "logs"


def step_labels(job: JobDefinition) -> dict[str, str]:
    """Op name -> what the terminal calls it: dbt steps by what they build, other steps by their name."""
    from orchestration.dbt.check_placement import dbt_steps

    labels = {}
    for step, keys in dbt_steps(job).items():
        checks = sum(isinstance(k, AssetCheckKey) for k in keys)
        labels[step] = f"dbt: {_count(len(keys) - checks, 'model', 'models')}, {_count(checks, 'test', 'tests')}"
    return labels


def error_chain(error) -> str:
    """A Dagster ``SerializableErrorInfo`` and its causes as text, no stack: Dagster wraps an asset's exception
    (the loader's ContractViolation naming file, line and column) in a step error, so the useful part is a cause."""
    parts = []
    while error is not None:
        parts.append(error.message.strip())
        error = error.cause
    return "\n  caused by: ".join(parts) or "failed"


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


class _ProgressHandler(logging.Handler):
    """Turns Dagster step events into terminal lines (see the module docstring)."""

    def __init__(self, console: Console, labels: dict[str, str]):
        super().__init__(level=logging.DEBUG)
        self.console, self.labels = console, labels
        self.started: dict[str, float] = {}
        self.run_started = time.monotonic()
        self.loaded: list[float] = []  # ingestion steps done, not yet reported
        self.skipped = 0

    def _line(self, ok: bool, label: str, seconds: float) -> None:
        self.console.print(f"  {'[green]ok[/]    ' if ok else '[red]FAILED[/]'} {label:<44} {seconds:7.1f} s")

    def _flush_ingestion(self) -> None:
        if self.loaded:
            self._line(True, f"load: {_count(len(self.loaded), 'entity', 'entities')}", sum(self.loaded))
            self.loaded = []

    def emit(self, record: logging.LogRecord) -> None:
        event = (getattr(record, LOG_RECORD_METADATA_ATTR, None) or {}).get("dagster_event")
        if event is None or not event.step_key:
            return
        step, kind, now = event.step_key, event.event_type_value, time.monotonic()
        if kind == "STEP_START":
            self.started[step] = now
            return
        if kind not in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"):
            return
        seconds = now - self.started.get(step, now)
        if kind == "STEP_SKIPPED":
            self.skipped += 1
        elif kind == "STEP_SUCCESS" and step.startswith(INGESTION_PREFIX):
            self.loaded.append(seconds)
        else:
            self._flush_ingestion()
            self._line(kind == "STEP_SUCCESS", self.labels.get(step, step), seconds)


@logger(description="One terminal line per step (ingestion steps as one line), for command-line runs.")
def step_progress(_init_context) -> logging.Logger:
    log = logging.Logger("step_progress", level=logging.DEBUG)
    if _state:
        log.addHandler(_state["progress"])
    return log


@logger(config_schema={"path": str}, description="Every event of the run, at DEBUG level, to one file.")
def run_log_file(init_context) -> logging.Logger:
    log = logging.Logger("run_log_file", level=logging.DEBUG)
    handler = logging.FileHandler(init_context.logger_config["path"], encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    return log


@contextmanager
def _output_to(path: Path) -> Iterator[TextIO]:
    """Redirect file descriptors 1 and 2 to ``path`` for the block; yield a stream on the original stdout."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(saved_out), "w", buffering=1)
    with open(path, "a", encoding="utf-8") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield terminal
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
            terminal.close()


def quiet_run(job: JobDefinition, instance: DagsterInstance, terminal: TextIO | None = None, **execute_kwargs):
    """Run ``job`` in process with the quiet terminal; returns ``(ExecuteInProcessResult, log file path)``.

    ``terminal``: where the step lines go (default: the original standard output); ``execute_kwargs`` go to
    ``JobDefinition.execute_in_process`` (``raise_on_error`` is always False: failures are reported, not
    raised). Raises only what Dagster raises before the run starts (invalid config, unknown selection).
    """
    log_dir = logs_dir()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{job.name}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.log"
    with _output_to(log_path) as original:
        console = Console(file=terminal or original, highlight=False, soft_wrap=True)
        console.print(f"{job.name}: full log in {log_path}")
        handler = _ProgressHandler(console, step_labels(job))
        _state.update(progress=handler)
        try:
            result = job.execute_in_process(
                instance=instance, raise_on_error=False,
                run_config={"loggers": {"step_progress": {}, "run_log_file": {"config": {"path": str(log_path)}}}},
                **execute_kwargs)
        finally:
            _state.clear()
        handler._flush_ingestion()
        total = time.monotonic() - handler.run_started
        skipped = f"; {handler.skipped} steps skipped after the failure" if handler.skipped else ""
        console.print(f"{'succeeded' if result.success else 'FAILED'} in {total:.0f} s{skipped}")
    return result, log_path
