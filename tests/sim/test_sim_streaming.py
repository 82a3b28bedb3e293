"""Memory stays bounded as scale grows (transactional entities are generated and written in chunks)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sme_sim.demand import LINES_PER_DAY
from sme_sim.pipeline import MAX_LINES_PER_CHUNK, chunks

PROBE = """
import resource, sys
from pathlib import Path
from sme_sim import generate
generate(Path(sys.argv[1]) / 'l', Path(sys.argv[1]) / 't', seed=1, scale=float(sys.argv[2]))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _peak_kb(tmp: Path, scale: float) -> int:
    root = Path(__file__).resolve().parents[2]
    res = subprocess.run([sys.executable, "-c", PROBE, str(tmp), str(scale)], capture_output=True, text=True,
                         cwd=root, check=True)
    return int(res.stdout.strip().splitlines()[-1])


def test_peak_memory_does_not_grow_linearly(tmp_path):
    small = _peak_kb(tmp_path / "a", 0.1)
    big = _peak_kb(tmp_path / "b", 1.0)  # 10x the transactions
    assert big < small * 1.6, (small, big)


def test_chunks_bound_lines_per_chunk():
    for scale in (1, 50, 500):
        for d0, d1, _ in chunks(scale):
            assert LINES_PER_DAY * scale * (d1 - d0 + 1) <= MAX_LINES_PER_CHUNK or d0 == d1
