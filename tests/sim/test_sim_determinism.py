from __future__ import annotations

import hashlib
from pathlib import Path

from sim_helpers import SCALE

from sme_sim import generate


def _hashes(*roots: Path) -> dict[str, str]:
    out = {}
    for i, root in enumerate(roots):
        for p in sorted(root.rglob("*")):
            if p.is_file():
                out[f"{i}/{p.relative_to(root).as_posix()}"] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def test_same_seed_identical_bytes(gen, tmp_path):
    out, truth, _ = gen
    man = generate(tmp_path / "l", tmp_path / "t", seed=42, scale=SCALE, scenario="regime_change")
    assert _hashes(out, truth) == _hashes(tmp_path / "l", tmp_path / "t")
    assert man["files"]


def test_different_seed_differs(gen, tmp_path):
    out, _, _ = gen
    generate(tmp_path / "l", tmp_path / "t", seed=7, scale=SCALE, scenario="regime_change")
    a, b = _hashes(out), _hashes(tmp_path / "l")
    common = set(a) & set(b)
    assert common and sum(a[k] != b[k] for k in common) > 0.8 * len(common)


def test_manifest_lists_files_with_hashes(gen):
    out, truth, man = gen
    assert man["parameters"] == {"seed": 42, "scale": SCALE, "scenario": "regime_change", "generator_version": "1.0"}
    for f in man["files"]:
        base = out if f["area"] == "landing" else truth
        assert hashlib.sha256((base / f["path"]).read_bytes()).hexdigest() == f["sha256"]


def test_idempotent_skip(gen):
    out, truth, man = gen
    again = generate(out, truth, seed=42, scale=SCALE, scenario="regime_change", force=False)
    assert again.get("skipped") and again["files"] == man["files"]
