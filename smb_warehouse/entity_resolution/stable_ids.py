"""Unified ids that survive re-runs: a cluster keeps the id most of its records had before."""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping

_NUMBER = re.compile(r"(\d+)$")


def _number(unified_id: str) -> int:
    match = _NUMBER.search(unified_id)
    return int(match.group(1)) if match else 0


def assign_ids(clusters: Mapping[str, str], previous: Mapping[str, str], prefix: str, width: int = 6) -> dict[str, str]:
    """record_key -> unified id.

    clusters: record_key -> cluster label; previous: record_key -> unified id of the last run.
    A cluster claims the old ids of its records, most common first; when two clusters claim the same
    id (an old cluster split), the one holding more of its records wins and the other gets a new id.
    New ids continue after the highest number ever issued (ids are never reused), in the order of
    each cluster's smallest record_key, so the same input always yields the same ids.
    """
    members: dict[str, list[str]] = {}
    for key, label in clusters.items():
        members.setdefault(label, []).append(key)
    claims = []
    for label, keys in members.items():
        for old_id, count in Counter(previous[k] for k in keys if k in previous).items():
            claims.append((-count, old_id, min(keys), label))
    chosen: dict[str, str] = {}
    taken: set[str] = set()
    for _neg, old_id, _first, label in sorted(claims):
        if label not in chosen and old_id not in taken:
            chosen[label] = old_id
            taken.add(old_id)
    next_number = max((_number(v) for v in previous.values()), default=0) + 1
    for label in sorted((m for m in members if m not in chosen), key=lambda m: min(members[m])):
        chosen[label] = f"{prefix}-{next_number:0{width}d}"
        next_number += 1
    return {key: chosen[label] for key, label in clusters.items()}
