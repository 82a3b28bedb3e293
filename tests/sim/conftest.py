"""One shared generation (regime_change scenario, so its truth tables are exercised too)."""
from __future__ import annotations

from pathlib import Path

import pytest
from sim_helpers import SCALE

from sme_sim import generate


@pytest.fixture(scope="session")
def gen(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    root = tmp_path_factory.mktemp("sim_a")
    out, truth = root / "landing", root / "truth"
    man = generate(out, truth, seed=42, scale=SCALE, scenario="regime_change")
    return out, truth, man
