"""Dagster metadata for the ML workflows' HTML reports: one helper so forecasting, reconciliation and triage
link their reports the same way.

``report_links("feature_drift", path)`` -> ``{"feature_drift_report": MetadataValue.url(<URL make ui serves>),
"feature_drift_report_path": MetadataValue.path(<local file>)}``; with no file, ``{"feature_drift_report":
MetadataValue.text(<why there is none>)}``. URLs come from smb_warehouse.core.reports.report_url (SMB_REPORTS_URL,
default http://127.0.0.1:3001 = the server `make ui` starts).
"""
from __future__ import annotations

from pathlib import Path

from dagster import MetadataValue

from smb_warehouse.core import reports


def report_links(name: str, path: Path | None, missing: str = "no report this run") -> dict:
    """Metadata entries for one report (see the module docstring). ``missing``: the text shown without a file.
    A report URL that cannot be made (``SMB_REPORTS_PORT`` not a port number) gives the local file and a note
    instead: a link setting never fails the workflow it describes."""
    if path is None:
        return {f"{name}_report": MetadataValue.text(missing)}
    try:
        url = MetadataValue.url(reports.report_url(path))
    except ValueError as exc:
        url = MetadataValue.text(f"no URL ({exc}); the file is {name}_report_path")
    return {f"{name}_report": url, f"{name}_report_path": MetadataValue.path(str(path))}


def outcome_links(outcome: reports.ReportOutcome) -> dict:
    """``report_links`` of a ReportOutcome (its kind, file, or the note saying why there is none)."""
    return report_links(outcome.kind, outcome.path, outcome.note)
