"""Names of dbt relations, read from the dbt manifest instead of typed by hand.

Python that reads a dbt model asks ``relation("int_triage__ticket_inputs")`` and gets
``"intermediate.int_triage__ticket_inputs"``: schema and alias exactly as dbt builds them (custom schemas,
aliases, versions), so renaming or moving a model cannot leave Python reading a stale name. The catalog
(database) part is left out on purpose: a candidate warehouse is published under another file name, and
DuckDB names the catalog after the file.

The manifest is ``<dbt project>/target/manifest.json`` (``$SMB_DBT_MANIFEST`` overrides it), which
``orchestration.dbt.assets.ensure_manifest`` re-parses whenever the dbt project changed; it is read once
per process and re-read when the file changes. No dbt (or Dagster) import.
"""
from __future__ import annotations

import difflib
import functools
import json
import os
import re
from pathlib import Path

from smb_warehouse.core import paths
from smb_warehouse.core.sql import ident

RESOURCE_TYPES = ("model", "seed", "snapshot")
_PLAIN = re.compile(r"^[a-z_][a-z0-9_]*$")


class ManifestError(RuntimeError):
    """The dbt manifest is missing or unreadable, or does not know the requested model."""


def manifest_path() -> Path:
    override = os.environ.get("SMB_DBT_MANIFEST")
    return Path(override).expanduser() if override else paths.DBT_PROJECT_DIR / "target" / "manifest.json"


@functools.lru_cache(maxsize=4)
def _relations(path: str, mtime_ns: int) -> dict[str, dict[str | None, tuple[str, str]]]:
    """name -> {version (None when unversioned, plus None -> latest for versioned models): (schema, alias)}."""
    try:
        manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ManifestError(f"cannot read the dbt manifest {path}: {exc}") from exc
    project = (manifest.get("metadata") or {}).get("project_name")
    found: dict[str, dict[str | None, tuple[str, str]]] = {}
    for node in (manifest.get("nodes") or {}).values():
        if node.get("resource_type") not in RESOURCE_TYPES or (project and node.get("package_name") != project):
            continue
        versions = found.setdefault(node["name"], {})
        where = (node["schema"], node.get("alias") or node["name"])
        version = node.get("version")
        if version is None:
            versions[None] = where
        else:
            versions[str(version)] = where
            if str(version) == str(node.get("latest_version")):
                versions[None] = where
    return found


def relation(model: str, version: str | int | None = None) -> str:
    """``"<schema>.<alias>"`` of a dbt model (or seed/snapshot) of this project, for use in SQL.

    ``version`` picks one version of a versioned model (default: its latest version). Identifiers that are
    not plain lower-case names are quoted. Raises ``ManifestError`` when the manifest is missing (with how to
    create it) or does not know the model or version (with the closest names it does know).
    """
    path = manifest_path()
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise ManifestError(
            f"no dbt manifest at {path}: run `dbt parse` in the project (or anything importing "
            "orchestration.dbt.assets, whose ensure_manifest() keeps it fresh), or point $SMB_DBT_MANIFEST at one"
        ) from None
    relations = _relations(str(path), mtime)
    if model not in relations:
        close = difflib.get_close_matches(model, list(relations), n=3)
        raise ManifestError(f"dbt model {model!r} is not in {path}" + (f"; did you mean {', '.join(close)}?" if close else ""))
    versions = relations[model]
    key = None if version is None else str(version)
    if key not in versions:
        raise ManifestError(f"dbt model {model!r} has no version {version!r} in {path}; "
                            f"versions: {sorted(v for v in versions if v is not None)}")
    schema, alias = versions[key]
    return ".".join(part if _PLAIN.match(part) else ident(part) for part in (schema, alias))


@functools.lru_cache(maxsize=4)
def _public(path: str, mtime_ns: int) -> tuple[str, ...]:
    try:
        manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ManifestError(f"cannot read the dbt manifest {path}: {exc}") from exc
    project = (manifest.get("metadata") or {}).get("project_name")
    found = set()
    for node in (manifest.get("nodes") or {}).values():
        if (node.get("resource_type") == "model" and node.get("access") == "public"
                and (not project or node.get("package_name") == project)
                and (node.get("config") or {}).get("materialized") != "ephemeral"):
            found.add(".".join(p if _PLAIN.match(p) else ident(p) for p in (node["schema"], node.get("alias") or node["name"])))
    return tuple(sorted(found))


def public_relations() -> list[str]:
    """``"<schema>.<alias>"`` of every model of this project with ``access: public`` (every version of a
    versioned model), sorted: what BI tools may read (the BI copy holds exactly these). Raises
    ``ManifestError`` when the manifest is missing or unreadable."""
    path = manifest_path()
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise ManifestError(f"no dbt manifest at {path}: run `dbt parse` in the project") from None
    return list(_public(str(path), mtime))
