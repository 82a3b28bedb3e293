"""Checks shared by the workflow tests on the Evidently reports of a run: the files exist and are Evidently
HTML, the metadata URL names exactly that file, and the reports server (`make ui`'s) serves it and nothing
outside the reports folder."""
from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from pathlib import Path

from smb_warehouse.core import reports
from tests.support import environment, run_env

_RETENTION_SUFFIX = r"_[0-9a-f]{8}\.html"


def _status(base: str, raw_path: str) -> int:
    """HTTP status of GET ``raw_path`` sent as is (http.client, so nothing normalises the ``..``)."""
    host, port = base.removeprefix("http://").split(":")
    con = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        con.request("GET", raw_path)
        response = con.getresponse()
        response.read()
        return response.status
    finally:
        con.close()


def assert_reports_linked_and_served(run: dict, asset_key: str, names: list[str | tuple[str, str]],
                                     workflow: str) -> dict[str, Path]:
    """For each report ``name`` (or ``(name, file kind)`` when they differ) of the run's ``asset_key``
    materialization: ``<name>_report`` is a URL under the reports base URL whose path is the file in
    ``<name>_report_path``, under reports/<workflow>/, named ``<kind>_<8 hex>.html`` (retention's grouping),
    Evidently HTML; a server started on a free port serves those
    bytes at that path, and refuses ``..`` (plain, encoded) and folder listings. Returns {name: file}."""
    import re

    root = run["root"] / "reports"
    meta = run["metadata"][asset_key]
    with environment(run_env(run["root"], run["landing"])):
        base = reports.base_url()
    files = {}
    for entry in names:
        name, kind = (entry, entry) if isinstance(entry, str) else entry
        url, local = meta[f"{name}_report"], Path(meta[f"{name}_report_path"])
        assert isinstance(url, str) and url.startswith(base + "/"), (name, url)
        relative = url.removeprefix(base + "/")
        assert (root / relative).resolve() == local.resolve(), (url, local)
        assert local.parent.resolve() == (root / workflow).resolve()
        assert re.fullmatch(re.escape(kind) + _RETENTION_SUFFIX, local.name), local.name
        text = local.read_text(errors="replace")
        # Evidently's saved HTML: its dashboard script and the report's widgets as JSON
        assert "<html" in text[:2000].lower() and "window.drawDashboard(" in text and '"widgets"' in text, local
        files[name] = local

    # the published warehouse lies beside the reports folder: reachable by "..", never served
    assert (run["root"] / "warehouse" / "warehouse.duckdb").is_file()
    outside = "warehouse/warehouse.duckdb"
    server = reports.serve(root=root, port=0)
    try:
        for name, local in files.items():
            relative = meta[f"{name}_report"].removeprefix(base + "/")
            with urllib.request.urlopen(f"{server.url}/{relative}", timeout=30) as response:
                assert response.status == 200 and response.read() == local.read_bytes()
                assert response.headers["Content-Type"].startswith("text/html")
        for raw in (f"/../{outside}", f"/%2e%2e/{outside}", f"/{workflow}/../../{outside}",
                    f"/{workflow}/%2E%2E/%2E%2E/{outside}", f"/..%2f{outside}", "/", f"/{workflow}/"):
            assert _status(server.url, raw) == 404, raw
        try:
            urllib.request.urlopen(f"{server.url}/{workflow}/", timeout=10)
            raise AssertionError("a folder listing was served")
        except urllib.error.HTTPError as exc:
            assert exc.code == 404
    finally:
        server.stop()
    return files
