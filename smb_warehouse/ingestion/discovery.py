"""Which files in an entity's landing folder are batches to load, which are not yet complete, and which
the loader will not read (and why).

Rules (the contract's ``format`` options, documented in ``contracts.py``):

* a batch file ends with one of the entity's extensions (any letter case: ``.CSV``, ``.Jsonl``),
  optionally followed by a compression suffix (``.gz``, ``.zst``) when ``compression`` is ``auto``, and
  matches ``glob`` when one is set;
* with a ``done_marker`` (e.g. ``.done``), ``<name><marker>`` files (any letter case) are markers, not data, and a batch
  without its marker is *held*;
* a batch modified less than ``min_quiet_seconds`` ago is *held* (it may still be being written);
* everything else (other extensions, hidden files, office lock files ``~$<name>``, sub-folders, markers without their data
  file) is *ignored*, with the reason, so that the run can say so: nothing in a landing folder is skipped
  silently.

Files are returned in name order (batches are named so that this is arrival order).
"""
from __future__ import annotations

import fnmatch
import time
from dataclasses import dataclass
from pathlib import Path

from smb_warehouse.ingestion.contracts import COMPRESSIONS, Entity


@dataclass(frozen=True)
class Found:
    path: Path
    rel: str  # relative to the landing root, forward slashes
    action: str  # load | held | ignored
    reason: str | None = None
    compression: str | None = None  # gzip | zstd | None


def _classify_name(entity: Entity, name: str) -> tuple[bool, str | None, str | None]:
    """(is a batch name, compression, reason when not)."""
    fmt = entity.format
    lower = name.lower()
    compression = None
    base = lower
    if fmt.compression == "auto":
        for suffix, kind in COMPRESSIONS.items():
            if lower.endswith(suffix):
                compression, base = kind, lower[: -len(suffix)]
                break
    if not base.endswith(fmt.file_extensions):
        accepted = list(fmt.file_extensions)
        if fmt.compression == "auto":
            accepted += [e + s for e in fmt.file_extensions for s in COMPRESSIONS]
        return False, None, f"name does not end with one of {', '.join(accepted)} (contract format {fmt.type!r})"
    if fmt.glob and not fnmatch.fnmatch(lower, fmt.glob.lower()):
        return False, None, f"name does not match the contract glob {fmt.glob!r}"
    return True, compression, None


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:  # gone since the listing: the file's own read fails by name later
        return 0


def discover(entity: Entity, landing_root: Path, now: float | None = None) -> list[Found]:
    """Every entry of the entity's landing folder, classified. Missing folder: empty list."""
    landing_root = Path(landing_root)
    folder = entity.landing_dir(landing_root)
    if not folder.is_dir():
        return []
    fmt = entity.format
    now = time.time() if now is None else now
    entries = sorted(folder.iterdir(), key=lambda p: p.name)
    names = {p.name for p in entries}
    marker = fmt.done_marker
    # markers match in any letter case, like extensions (`a.csv.DONE` for `.done`): lower-case name -> the file
    markers = {p.name.lower(): p for p in entries if marker and p.name.lower().endswith(marker.lower())}
    found: list[Found] = []
    for path in entries:
        rel = path.relative_to(landing_root).as_posix()
        name = path.name
        if path.is_dir():
            found.append(Found(path, rel, "ignored", "a folder: only files directly in the entity folder are read"))
            continue
        if marker and name.lower().endswith(marker.lower()) and len(name) > len(marker):
            data_name = name[: -len(marker)]
            if data_name not in names:
                found.append(Found(path, rel, "ignored", f"done marker without its data file {data_name!r}"))
            continue  # a marker of a present file is bookkeeping, not data
        if name.startswith("."):
            found.append(Found(path, rel, "ignored", "hidden file"))
            continue
        if name.startswith("~$"):
            found.append(Found(path, rel, "ignored", "an office lock file (Excel writes ~$<name> while a file is open)"))
            continue
        ok, compression, reason = _classify_name(entity, name)
        if not ok:
            found.append(Found(path, rel, "ignored", reason))
            continue
        marker_path = markers.get((name + marker).lower()) if marker else None
        if marker and marker_path is None:
            found.append(Found(path, rel, "held", f"waiting for its done marker {name + marker!r}", compression))
            continue
        if marker_path is not None and _mtime(path) > _mtime(marker_path):
            # last night's marker beside a file written again since: it vouches for the old content, not this
            found.append(Found(path, rel, "held", f"changed after its done marker {name + marker!r} was written; "
                               "waiting for a new marker", compression))
            continue
        if fmt.min_quiet_seconds and now - path.stat().st_mtime < fmt.min_quiet_seconds:
            found.append(Found(path, rel, "held", f"modified less than {fmt.min_quiet_seconds:g}s ago; "
                               "it may still be being written", compression))
            continue
        found.append(Found(path, rel, "load", None, compression))
    return found
