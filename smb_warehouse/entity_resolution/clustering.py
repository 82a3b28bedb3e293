"""Connected components over accepted links (union-find with path compression).

No cannot-link vetoes: a VAT id or domain that differs is evidence the model weighs (a typo in a VAT id
is a typo candidate, not a veto), and the merge threshold is chosen from the model's weights.
"""
from __future__ import annotations

from collections.abc import Iterable


class UnionFind:
    """Disjoint sets of record keys; the root of a set is its smallest key (deterministic)."""

    def __init__(self, keys: Iterable[str]):
        self.parent = {k: k for k in keys}

    def find(self, key: str) -> str:
        root = key
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[key] != root:  # path compression
            self.parent[key], key = root, self.parent[key]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            keep, drop = (ra, rb) if ra < rb else (rb, ra)
            self.parent[drop] = keep

    def clusters(self) -> dict[str, str]:
        """record_key -> cluster root (the smallest record_key of its cluster)."""
        return {k: self.find(k) for k in self.parent}
