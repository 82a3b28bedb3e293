"""HTML reports (Evidently) of the ML workflows: where they are written, the URL they are served at, the small
local server that serves them, and the Evidently import every workflow goes through.

Layout: ``reports_dir()/<workflow>/<kind>_<tag>.html``, one file per report kind per run; ``tag`` is 8 hex
digits derived from the Dagster run id (``run_tag``), so retention (``core.retention.prune_reports``, the newest
``SMB_KEEP_REPORTS`` per kind and folder) groups every run's file of a kind together.

URLs: ``report_url(path)`` = ``SMB_REPORTS_URL`` (default ``http://127.0.0.1:<SMB_REPORTS_PORT>``, port 3001) +
the path relative to ``reports_dir()``. ``make ui`` starts ``serve()`` on 127.0.0.1:``SMB_REPORTS_PORT`` beside
``dagster dev``, so the links in the Dagster asset metadata open. The server answers GET/HEAD for files under
``reports_dir()`` only: no directory listings, nothing outside the folder (``..``, encoded or not, and symlinks
that leave it are refused with 404).
"""
from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from smb_warehouse.core import paths

PORT_ENV, DEFAULT_PORT = "SMB_REPORTS_PORT", 3001
URL_ENV = "SMB_REPORTS_URL"
HOST = "127.0.0.1"
_TAG = re.compile(r"[0-9a-f]{8}")
_KIND = re.compile(r"[a-z][a-z0-9_]*")


def evidently():
    """The ``evidently`` package (0.7 Report API), imported with the one pandas-2 helper its legacy test module
    still imports at package import time (``pandas.core.dtypes.common.infer_dtype_from_object``, gone in pandas
    3, which the project pins) put back. Import presets and metrics after calling this."""
    import pandas.core.dtypes.common as common

    if not hasattr(common, "infer_dtype_from_object"):
        common.infer_dtype_from_object = lambda dtype: common.pandas_dtype(dtype).type  # type: ignore[attr-defined]
    import evidently as package

    return package


def reports_port() -> int:
    """``SMB_REPORTS_PORT`` (default 3001). Raises ValueError when it is not a port number."""
    raw = (os.environ.get(PORT_ENV) or str(DEFAULT_PORT)).strip()
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ValueError(f"{PORT_ENV} must be a port number (1-65535), got {raw!r}")
    return int(raw)


def base_url() -> str:
    """Where ``reports_dir()`` is served, without a trailing slash: ``SMB_REPORTS_URL``, else
    ``http://127.0.0.1:<SMB_REPORTS_PORT>``."""
    return (os.environ.get(URL_ENV) or f"http://{HOST}:{reports_port()}").rstrip("/")


def run_tag(run_id: str) -> str:
    """8 lower-case hex digits for a run: the first group of a Dagster run id (a UUID), else a sha256 prefix of
    the id (ids such as ``test-no-champion``), so every file name ends the way retention groups it."""
    head = run_id.split("-", 1)[0].lower()
    return head if _TAG.fullmatch(head) else hashlib.sha256(run_id.encode()).hexdigest()[:8]


def workflow_dir(workflow: str) -> Path:
    """``reports_dir()/<workflow>``, created."""
    path = paths.reports_dir() / workflow
    path.mkdir(parents=True, exist_ok=True)
    return path


def report_path(workflow: str, kind: str, run_id: str) -> Path:
    """``reports_dir()/<workflow>/<kind>_<run_tag(run_id)>.html``. ``kind``: lower-case letters, digits and
    underscores (ValueError otherwise), never ending in ``_<8 hex digits>`` itself."""
    if not _KIND.fullmatch(kind) or re.search(r"_[0-9a-f]{8}$", kind):
        raise ValueError(f"report kind must be lower_snake_case without a run suffix, got {kind!r}")
    return workflow_dir(workflow) / f"{kind}_{run_tag(run_id)}.html"


def report_url(path: Path | str) -> str:
    """The URL ``serve()`` (``make ui``) answers ``path`` at: ``base_url()`` + its path under ``reports_dir()``,
    percent-encoded. Raises ValueError for a file outside ``reports_dir()``."""
    root = paths.reports_dir().resolve()
    target = Path(path).resolve()
    if root not in target.parents:
        raise ValueError(f"{target} is not under the reports folder {root}")
    return f"{base_url()}/{quote(target.relative_to(root).as_posix())}"


def path_for_url(url: str, root: Path | None = None) -> Path | None:
    """The file under ``root`` (default ``reports_dir()``) that a request path or URL names, or None when it
    names nothing servable: a folder, a missing file, or anything outside ``root`` (``..``, symlinks)."""
    root = (root or paths.reports_dir()).resolve()
    raw = url.split("?", 1)[0].split("#", 1)[0]
    relative = unquote(urlsplit(raw).path if "://" in raw else raw).lstrip("/")
    if not relative or "\x00" in relative:
        return None
    target = (root / relative).resolve()
    return target if root in target.parents and target.is_file() else None


@dataclass(frozen=True)
class ReportOutcome:
    """One report of one run: ``path`` of the HTML file, or None with ``note`` saying why there is none (too
    few labelled rows, no model served...). ``figures``: a few headline numbers for the run's metadata."""

    kind: str
    path: Path | None
    note: str
    figures: dict[str, float] | None = None


def guarded(kind: str, build: Callable[[], ReportOutcome]) -> ReportOutcome:
    """``build()``, or, when it raises (an Evidently error on unusual data), an outcome without a file whose note
    names the error: a report describes a workflow and never fails it."""
    try:
        return build()
    except Exception as exc:
        return ReportOutcome(kind, None, f"report failed ({type(exc).__name__}: {str(exc)[:300]}); the run went on")


def _value_figures(snapshot_dict: dict) -> dict[str, float]:
    """Single-number metrics of an Evidently snapshot, keyed by metric name in snake case (``accuracy``,
    ``f1score``...); by-label and dict-valued metrics are left to the HTML."""
    out: dict[str, float] = {}
    for metric in snapshot_dict["metrics"]:
        value = metric.get("value")
        if isinstance(value, int | float):
            out[metric.get("metric_name", "").split("(")[0].lower()] = float(value)
    return out


def drift_windows(frame, when, current_days: int, reference_days: int, unit: str):
    """Split ``frame`` (pandas, row-aligned with ``when``: datetime64 per row, NaT allowed) into the drift report's
    windows: ``current`` = the last ``current_days`` days up to the newest day of ``when``, ``reference`` = the
    ``reference_days`` days before it. Returns (reference rows, current rows, a one-line label naming both windows
    and their row counts in ``unit``, e.g. "pairs")."""
    import pandas as pd

    start = when.max().normalize() - pd.Timedelta(days=current_days - 1)
    ref_start = start - pd.Timedelta(days=reference_days)
    current, reference = frame[when >= start], frame[(when >= ref_start) & (when < start)]
    label = (f"current {start:%Y-%m-%d}..{when.max():%Y-%m-%d} ({len(current)} {unit}) vs reference "
             f"{ref_start:%Y-%m-%d}..{start - pd.Timedelta(days=1):%Y-%m-%d} ({len(reference)} {unit})")
    return reference, current, label


def drift_report(reference, current, numerical: list[str], categorical: list[str], html: Path) -> dict[str, float]:
    """Evidently ``DataDriftPreset`` of ``current`` against ``reference`` (pandas frames holding at least the
    named columns; categorical columns are compared as strings, missing values as ``<missing>``), saved as
    ``html``. Evidently picks each column's test by type and size (K-S / chi-square / Z-test p-values below 1000
    rows, distances above). Returns ``columns`` (how many were tested), ``drifted_columns`` and
    ``drifted_share`` (0..1)."""
    package = evidently()
    from evidently.presets import DataDriftPreset

    def prepared(frame):
        out = frame[numerical + categorical].copy()
        for column in numerical:
            out[column] = out[column].astype(float)
        for column in categorical:
            out[column] = out[column].astype(object).where(out[column].notna(), "<missing>").astype(str)
        return out.reset_index(drop=True)

    definition = package.DataDefinition(numerical_columns=numerical or None, categorical_columns=categorical or None)
    datasets = [package.Dataset.from_pandas(prepared(f), data_definition=definition) for f in (current, reference)]
    snapshot = package.Report([DataDriftPreset(columns=numerical + categorical)]).run(*datasets)
    snapshot.save_html(str(html))
    found = next((m["value"] for m in snapshot.dict()["metrics"]
                  if m.get("config", {}).get("type", "").endswith("DriftedColumnsCount")), {"count": 0.0, "share": 0.0})
    return {"columns": float(len(numerical + categorical)), "drifted_columns": float(found["count"]),
            "drifted_share": float(found["share"])}


def classification_report(frame, target: str, html: Path, *, prediction_labels: str | None = None,
                          prediction_probas: str | None = None, probas_threshold: float | None = None) -> dict[str, float]:
    """Evidently ``ClassificationPreset`` (accuracy, precision, recall, F1 overall and per label, confusion
    matrix; ROC AUC, log loss and PR curves when ``prediction_probas`` is given) of the labelled ``frame``, saved
    as ``html``. Binary when ``prediction_probas`` names a probability column of class 1 (``target`` holds 0/1;
    a row is predicted 1 at ``probas_threshold``), else multiclass on string labels in ``target`` and
    ``prediction_labels``. Returns the preset's single-number metrics (``accuracy``, ``precision``, ``recall``,
    ``f1score``, ``rocauc``...) and ``rows``."""
    package = evidently()
    from evidently.presets import ClassificationPreset

    if prediction_probas is not None:
        data = frame[[target, prediction_probas]].reset_index(drop=True).astype({target: int, prediction_probas: float})
        task = package.BinaryClassification(target=target, prediction_probas=prediction_probas, pos_label=1)
        definition = package.DataDefinition(classification=[task], numerical_columns=[prediction_probas],
                                            categorical_columns=[target])
    else:
        data = frame[[target, prediction_labels]].reset_index(drop=True).astype(str)
        task = package.MulticlassClassification(target=target, prediction_labels=prediction_labels)
        definition = package.DataDefinition(classification=[task], categorical_columns=[target, prediction_labels])
    snapshot = package.Report([ClassificationPreset(probas_threshold=probas_threshold)]).run(
        package.Dataset.from_pandas(data, data_definition=definition), None)
    snapshot.save_html(str(html))
    return {**_value_figures(snapshot.dict()), "rows": float(len(data))}


class _Handler(SimpleHTTPRequestHandler):
    """Files under the server's root only; no listings; quiet (Dagster's terminal stays readable)."""

    root: Path

    def translate_path(self, path: str) -> str:
        target = path_for_url(path, self.root)
        # a path that names nothing servable (or a report deleted since send_head looked) maps to a file that does
        # not exist: open() raises FileNotFoundError, which the handler answers with 404
        return str(target) if target is not None else str(self.root / ".no-such-report" / "missing")

    def list_directory(self, path):  # never reached (folders are not servable), refused all the same
        self.send_error(HTTPStatus.NOT_FOUND, "no listings")
        return None

    def send_head(self):
        if path_for_url(self.path, self.root) is None:
            self.send_error(HTTPStatus.NOT_FOUND, "no such report")
            return None
        return super().send_head()

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:
        pass


@dataclass
class ReportServer:
    """A running ``serve()``: ``url`` to open, ``stop()`` to shut it down (idempotent)."""

    server: ThreadingHTTPServer
    thread: threading.Thread
    root: Path

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
            self.thread.join(timeout=5)
        self.server.server_close()


def serve(root: Path | None = None, port: int | None = None) -> ReportServer:
    """Serve ``root`` (default ``reports_dir()``, created) on 127.0.0.1:``port`` (default ``reports_port()``;
    0 = a free port) from a daemon thread. Raises OSError when the port is taken."""
    root = (root or paths.reports_dir())
    root.mkdir(parents=True, exist_ok=True)
    handler = type("ReportHandler", (_Handler,), {"root": root.resolve()})
    server = ThreadingHTTPServer((HOST, reports_port() if port is None else port), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="reports-server", daemon=True)
    thread.start()
    return ReportServer(server, thread, root.resolve())
