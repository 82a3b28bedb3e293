"""One BI tool on what BI is given: `make bi-superset` connects Apache Superset (its own venv, built from
bi/superset/requirements.txt) to the tiny run's BI copy and checks it through Superset's code: every public mart
listed, every column's comment, a query through Superset's engine, and a write refused.

In `make test-ui` (CI too): it installs Superset's venv once (about 45 s from the package registry) and needs no
server, but it is a BI tool's surface like the browser tests."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.support import clone_run, query

pytestmark = pytest.mark.ui
ROOT = Path(__file__).resolve().parents[2]


def test_superset_reads_every_public_mart_with_its_comments_read_only(tiny_run, tmp_path):
    root = clone_run(tiny_run["root"], tmp_path / "data")
    bi = root / "warehouse" / "bi" / "warehouse.duckdb"
    before = bi.read_bytes()
    (tables,), = query(bi, "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'marts'")
    (columns,), = query(bi, "SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'marts'")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMB_", "SUPERSET_"))}
    done = subprocess.run(["make", "--no-print-directory", "bi-superset"], cwd=ROOT, capture_output=True, text=True,
                          timeout=1200, env={**env, "SMB_DATA_DIR": str(root)})
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert f"marts tables: {tables} " in output
    assert f"comments: {tables}/{tables} tables and {columns}/{columns} columns have a comment" in output
    (rows,), = query(bi, "SELECT count(*) FROM marts.kpi_finance__dso_dpo")
    assert re.search(rf"FROM marts\.kpi_finance__dso_dpo -> {rows}\b", output) and rows > 0
    assert "ok    read-only: a write is refused" in output
    assert bi.read_bytes() == before  # Superset changed nothing in the BI copy
