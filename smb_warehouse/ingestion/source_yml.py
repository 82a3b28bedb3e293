"""Renders the dbt source declarations of the raw tables from the source contracts.

``models/staging/<system>/_<system>__sources.yml`` is GENERATED from ``contracts/<system>.yml``, like the
README's contract section (contract_docs.py): the contract is the only place a raw table is described, and
a test fails when a generated file drifts from it. Refresh with::

    python -m smb_warehouse.ingestion.source_yml --write     # rewrite the files
    python -m smb_warehouse.ingestion.source_yml --check     # exit 1 and name the stale files

What one source table says, and where it comes from:

============================  ===============================================================================
``schema: raw``               ``contracts.RAW_SCHEMA``
``identifier``                ``Entity.raw_table`` (``<system>__<entity>``)
``description``               the entity's contract description + its key and origin
``loaded_at_field``           ``_loaded_at`` (every raw row carries it)
``meta.dagster.asset_key``    ``Entity.asset_key_path``: the ingestion asset that writes the table
``columns``                   contract columns in contract order (``description:`` from the contract, else
                              "<Name> (<type>) as exported."), ``data_type`` = the raw type, ``pii`` as
                              ``meta.pii`` + tag ``pii``; then the metadata columns (``contracts.METADATA_COLUMNS``),
                              described by the ``{% docs lineage__* %}`` blocks in models/docs/lineage.md
``data_tests``                only when the contract entity lists ``data_tests`` (table-level dbt tests; none
                              today: the loader enforces the contract before a row reaches the raw table)
``freshness``                 only when the contract entity has ``freshness`` (a dbt freshness dict)
============================  ===============================================================================

The contract is read through ``contracts.parse_contract`` plus the raw YAML for the two optional dbt keys,
so contract keys this module does not need (file globs, null tokens, decimal precision, ...) are ignored.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from smb_warehouse.core.paths import PROJECT_ROOT
from smb_warehouse.ingestion.contracts import METADATA_COLUMNS, RAW_SCHEMA, Column, Entity, SystemContract, load_contracts

STAGING_DIR = PROJECT_ROOT / "models" / "staging"
LOADER = "smb_warehouse.ingestion.loader (contract-driven, run by the Dagster ingestion assets)"
# Contract type -> the word the default column description uses.
TYPE_WORDS = {"string": "text", "integer": "integer", "decimal": "decimal", "date": "date",
              "timestamp": "UTC timestamp", "boolean": "flag"}
WIDTH = 118  # folded descriptions wrap before this column


def source_yml_path(system: str, staging_dir: Path = STAGING_DIR) -> Path:
    """``<staging_dir>/<system>/_<system>__sources.yml``."""
    return staging_dir / system / f"_{system}__sources.yml"


def column_description(column: Column) -> str:
    """The contract's description, else a default built from the name and type ('Vat id (text) as exported.')."""
    if column.description:
        return column.description
    return f"{column.name.replace('_', ' ').capitalize()} ({TYPE_WORDS[column.type]}) as exported."


def _scalar(value: str) -> str:
    """A YAML plain scalar when that reads back as the same string, else a double-quoted one."""
    if value and yaml.safe_load(value) == value and "\n" not in value and not value.startswith(("{", "[", "'")):
        return value
    return json.dumps(value, ensure_ascii=False)


def _folded(key: str, text: str, indent: int) -> list[str]:
    """``key: text`` on one line, or a ``>-`` folded block wrapped before WIDTH."""
    pad = " " * indent
    line = f"{pad}{key}: {_scalar(text)}"
    if len(line) <= WIDTH:
        return [line]
    out, current = [f"{pad}{key}: >-"], ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and len(pad) + 2 + len(candidate) > WIDTH:
            out.append(f"{pad}  {current}")
            current = word
        else:
            current = candidate
    out.append(f"{pad}  {current}")
    return out


def _flow(value: Any) -> str:
    """A small YAML value (list / dict / scalar) in flow style on one line."""
    return yaml.safe_dump(value, default_flow_style=True, width=10_000, allow_unicode=True, sort_keys=False).strip()


def _entity_extras(contract: SystemContract) -> dict[str, dict[str, Any]]:
    """The optional dbt-only entity keys of the contract YAML: ``{entity: {"freshness": ..., "data_tests": ...}}``.
    Everything else in the file is the contract parser's business."""
    doc = yaml.safe_load(contract.path.read_text(encoding="utf-8")) or {}
    return {name: {"freshness": (spec or {}).get("freshness"), "data_tests": (spec or {}).get("data_tests")}
            for name, spec in (doc.get("entities") or {}).items()}


def _table(entity: Entity, extras: dict[str, Any]) -> list[str]:
    key = ", ".join(entity.primary_key)
    description = (f"{entity.description} Every loaded version of each row (key: {key}); loaded by the "
                   f"contract-driven loader from contracts/{entity.system}.yml.").strip()
    out = [f"      - name: {entity.name}", f"        identifier: {entity.raw_table}"]
    out += _folded("description", description, 8)
    out.append("        loaded_at_field: _loaded_at")
    if extras.get("freshness"):
        out.append(f"        freshness: {_flow(extras['freshness'])}")
    out += ["        config:", "          meta:", "            dagster:",
            f"              asset_key: {_flow(entity.asset_key_path)}"]
    if extras.get("data_tests"):
        out.append(f"        data_tests: {_flow(extras['data_tests'])}")
    out.append("        columns:")
    for column in entity.columns:
        out.append(f"          - name: {column.name}")
        out += _folded("description", column_description(column), 12)
        out.append(f"            data_type: {column.raw_type.lower()}")
        if column.pii:
            out += ["            config:", "              meta:", "                pii: true", "              tags: [pii]"]
    for name, raw_type in METADATA_COLUMNS.items():
        out += [f"          - name: {name}", f"            description: \"{{{{ doc('lineage_{name}') }}}}\"",
                f"            data_type: {raw_type.lower()}"]
    return out


def render(contract: SystemContract) -> str:
    """The complete ``_<system>__sources.yml`` text of one system contract."""
    extras = _entity_extras(contract)
    out = [
        f"# GENERATED from contracts/{contract.system}.yml by `python -m smb_warehouse.ingestion.source_yml --write`:",
        "# edit the contract, not this file (tests/dbt/test_dbt_project.py fails when the two differ).",
        "version: 2",
        "sources:",
        f"  - name: {contract.system}",
    ]
    out += _folded("description", contract.description, 4)
    out += [f"    schema: {RAW_SCHEMA}", f"    loader: {LOADER}", "    tables:"]
    for entity in contract.entities.values():
        out += _table(entity, extras.get(entity.name, {}))
    return "\n".join(out) + "\n"


def rendered_files(staging_dir: Path = STAGING_DIR) -> dict[Path, str]:
    """Every generated file's path -> its expected text, one per system contract."""
    return {source_yml_path(c.system, staging_dir): render(c) for c in load_contracts().values()}


def stale_files(staging_dir: Path = STAGING_DIR) -> list[Path]:
    """Generated files that are missing or differ from their contract's rendering."""
    return [path for path, text in rendered_files(staging_dir).items()
            if not path.is_file() or path.read_text(encoding="utf-8") != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite the generated source yml files")
    mode.add_argument("--check", action="store_true", help="exit 1 when a generated file is stale")
    args = parser.parse_args(argv)
    if args.write:
        for path, text in rendered_files().items():
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
                print(f"wrote {path.relative_to(PROJECT_ROOT)}")
        return 0
    if args.check:
        stale = stale_files()
        for path in stale:
            print(f"stale: {path.relative_to(PROJECT_ROOT)} (run python -m smb_warehouse.ingestion.source_yml --write)")
        return 1 if stale else 0
    for path, text in rendered_files().items():
        sys.stdout.write(f"--- {path.relative_to(PROJECT_ROOT)}\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
