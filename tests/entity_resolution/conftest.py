"""A tiny warehouse with just what entity resolution reads (raw tables + dbt up to int_er__*), built
once per session from the shared tiny generation."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def er_warehouse(tiny_sources: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    from benchmarks.er_warehouse import build

    landing, _truth = tiny_sources
    return build(tmp_path_factory.mktemp("er") / "warehouse.duckdb", landing)


@pytest.fixture()
def er_copy(er_warehouse: Path, tmp_path: Path) -> Path:
    """A private copy: tests that write entity_resolution.* must not see each other's tables."""
    target = tmp_path / "warehouse.duckdb"
    shutil.copyfile(er_warehouse, target)
    return target
