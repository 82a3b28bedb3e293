"""Which columns hold personal data: tagged ``pii`` in the dbt ymls (read from the dbt manifest) for
warehouse relations, flagged ``pii: true`` in the contracts for event payloads. Roles without the ``pii``
permission get those values as null, and the response lists the columns it redacted."""
from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from smb_warehouse.core import dbt_manifest
from smb_warehouse.ingestion.contracts import Entity


@functools.lru_cache(maxsize=4)
def _tagged(path: str, mtime_ns: int) -> dict[str, frozenset[str]]:
    manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    out: dict[str, set[str]] = {}
    for node in (manifest.get("nodes") or {}).values():
        if node.get("resource_type") not in ("model", "seed", "snapshot"):
            continue
        cols = {name for name, col in (node.get("columns") or {}).items()
                if "pii" in (col.get("tags") or []) or (col.get("meta") or {}).get("pii")
                or "pii" in ((col.get("config") or {}).get("tags") or [])}
        out.setdefault(node["name"], set()).update(cols)
    return {k: frozenset(v) for k, v in out.items()}


_KNOWN: dict[str, frozenset[str]] = {}


def model_pii_columns(model: str) -> frozenset[str]:
    """Columns of dbt model ``model`` tagged pii (every version of a versioned model counts). Remembered per
    process once read (tags change only with the code); a manifest caught mid-rewrite by a pipeline run's
    ``dbt parse`` is read again for up to 5 s, then ``ManifestError`` (the API answers 503, never unredacted)."""
    if model in _KNOWN:
        return _KNOWN[model]
    deadline = time.monotonic() + 5
    while True:
        path = dbt_manifest.manifest_path()
        try:
            tagged = _tagged(str(path), path.stat().st_mtime_ns)
            break
        except (OSError, ValueError) as exc:
            if time.monotonic() > deadline:
                raise dbt_manifest.ManifestError(f"cannot read the dbt manifest {path}: {exc}") from exc
            time.sleep(0.05)
    _KNOWN[model] = tagged.get(model, frozenset())
    return _KNOWN[model]


def contract_pii_columns(entity: Entity) -> frozenset[str]:
    return frozenset(c.name for c in entity.columns if c.pii)


def redact(records: Iterable[dict[str, Any]], columns: Iterable[str], allowed: bool) -> tuple[list[dict[str, Any]], list[str]]:
    """(records with ``columns`` set to None unless ``allowed``, the sorted redacted column names present)."""
    records = list(records)
    if allowed:
        return records, []
    cols = set(columns)
    present = sorted({c for r in records for c in r if c in cols})
    return [{k: (None if k in cols else v) for k, v in r.items()} for r in records], present
