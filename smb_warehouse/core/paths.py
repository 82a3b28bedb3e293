"""Where things live. Every location can be moved with an environment variable; defaults sit under
./data in the project so a fresh clone works with no configuration."""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONTRACTS_DIR = PROJECT_ROOT / "contracts"
DBT_PROJECT_DIR = PROJECT_ROOT


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


def data_dir() -> Path:
    return _env_path("SMB_DATA_DIR", PROJECT_ROOT / "data")


def landing_dir() -> Path:
    """Where source systems drop their exports: <landing>/<system>/<entity>/<batch files>."""
    return _env_path("SMB_LANDING_DIR", data_dir() / "landing")


def ground_truth_dir() -> Path:
    """The simulator's answers. Never loaded into the warehouse; only benchmarks and tests read it."""
    return _env_path("SMB_GROUND_TRUTH_DIR", data_dir() / "ground_truth")


def warehouse_dir() -> Path:
    """Holds the published warehouse file and the per-run candidates."""
    return _env_path("SMB_WAREHOUSE_DIR", data_dir() / "warehouse")


def published_warehouse_path() -> Path:
    """The warehouse BI tools and the dbt docs read. Only the publish step ever replaces it."""
    return warehouse_dir() / "warehouse.duckdb"


def review_decisions_store() -> Path:
    """The append-only store of AP review decisions (smb_warehouse.reconciliation.decisions)."""
    return data_dir() / "review" / "ap_decisions.sqlite"


def reports_dir() -> Path:
    return _env_path("SMB_REPORTS_DIR", data_dir() / "reports")


def docs_site_dir() -> Path:
    return _env_path("SMB_DOCS_DIR", data_dir() / "docs")
