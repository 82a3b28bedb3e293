"""Connected components over accepted links, with cannot-link guards for model links.

Our own union-find rather than Splink's clustering: rule links and model links are combined, and a
model link is refused when it would join two groups whose strong identifiers disagree (two different
VAT ids or company domains) -- one false link must not chain two real companies together.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping


class UnionFind:
    def __init__(self, keys: Iterable[str], attributes: Mapping[str, Mapping[str, frozenset[str]]] | None = None):
        self.parent = {k: k for k in keys}
        # per root: attribute name -> set of values seen in the group (e.g. {'vat_core': {...}})
        self.attrs: dict[str, dict[str, set[str]]] = {
            k: {name: set(vals) for name, vals in (attributes or {}).get(k, {}).items()} for k in self.parent
        }

    def find(self, key: str) -> str:
        root = key
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[key] != root:  # path compression
            self.parent[key], key = root, self.parent[key]
        return root

    def conflicts(self, a: str, b: str) -> list[str]:
        """Attributes both groups have values for, with no value in common."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return []
        left, right = self.attrs[ra], self.attrs[rb]
        return sorted(n for n in set(left) & set(right) if left[n] and right[n] and not (left[n] & right[n]))

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        keep, drop = (ra, rb) if ra < rb else (rb, ra)  # smallest key as root: deterministic
        self.parent[drop] = keep
        for name, values in self.attrs.pop(drop).items():
            self.attrs[keep].setdefault(name, set()).update(values)

    def clusters(self) -> dict[str, str]:
        """record_key -> cluster root (the smallest record_key of its cluster)."""
        return {k: self.find(k) for k in self.parent}
