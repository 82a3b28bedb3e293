"""Derived random generators: one independent, reproducible stream per (seed, purpose, chunk)."""
from __future__ import annotations

import zlib

import numpy as np


def rng_for(seed: int, *keys: object) -> np.random.Generator:
    """A generator keyed by stable hashes (crc32) of the keys; never Python's salted hash()."""
    entropy = [int(seed)] + [zlib.crc32(str(k).encode("utf-8")) for k in keys]
    return np.random.default_rng(np.random.SeedSequence(entropy))


def unique_codes(rng: np.random.Generator, n: int, length: int, alphabet: str) -> list[str]:
    """n distinct random codes (e.g. Salesforce-like ids), deterministic for a given rng state."""
    out: list[str] = []
    seen: set[str] = set()
    chars = np.array(list(alphabet))
    while len(out) < n:
        for row in rng.integers(0, len(chars), size=(n - len(out), length)):
            code = "".join(chars[row])
            if code not in seen:
                seen.add(code)
                out.append(code)
    return out


def unique_numbers(rng: np.random.Generator, n: int, low: int, high: int) -> np.ndarray:
    """n distinct integers in [low, high) in random order."""
    return rng.choice(np.arange(low, high), size=n, replace=False)
