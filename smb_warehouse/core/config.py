"""Process-wide settings applied before any tool starts."""
from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from smb_warehouse.core import paths

TELEMETRY_OFF = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",  # dbt
    "DO_NOT_TRACK": "1",  # Evidently (and other tools honouring the convention)
    "MLFLOW_DISABLE_TELEMETRY": "true",
}

DAGSTER_YAML = """\
# Written by smb_warehouse.core.config; safe to edit.
telemetry:
  enabled: false
run_queue:
  max_concurrent_runs: 1  # one writer at a time: every run publishes the same warehouse file
"""


def disable_telemetry() -> None:
    for name, value in TELEMETRY_OFF.items():
        os.environ.setdefault(name, value)


def dagster_home() -> Path:
    """DAGSTER_HOME (default ./data/dagster_home) with a dagster.yaml that turns telemetry off."""
    home = Path(os.environ.get("DAGSTER_HOME") or paths.data_dir() / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


@contextmanager
def environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, with None, unset) environment variables for a block, restoring them afterwards. Paths and
    settings are read from the environment at call time, so this points a run at another data dir."""
    previous = {k: os.environ.get(k) for k in values}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
