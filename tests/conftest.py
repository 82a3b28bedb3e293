"""Shared fixtures: telemetry off for every test, and a tiny generated landing zone reused by the
slower end-to-end tests (generation is deterministic, so sharing it hides nothing)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

TINY_SCALE = 0.05


@pytest.fixture(scope="session")
def tiny_sources(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(landing, ground_truth) of a tiny deterministic generation."""
    from sme_sim import generate

    root = tmp_path_factory.mktemp("tiny_sources")
    landing, truth = root / "landing", root / "ground_truth"
    generate(landing, truth, seed=7, scale=TINY_SCALE)
    return landing, truth
