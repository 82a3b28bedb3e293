"""Source contracts, declared once as data in ``contracts/<system>.yml``.

A contract says, per source entity: where its batch files land, how they are encoded, which columns
exist (with type, required flag, accepted values, pattern, aliases for renamed columns, JSON path) and
which columns form the key. Everything downstream reads this one model: the generic loader, the raw
table DDL, the Dagster asset factory and the tests. Nothing here touches data.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from smb_warehouse.core.paths import CONTRACTS_DIR

# Contract type -> DuckDB type of the raw column. DECIMAL(18,4) holds every money/quantity figure
# an SME exports without float rounding; timestamps are stored naive in UTC (converted on load).
RAW_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "decimal": "DECIMAL(18,4)",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "boolean": "BOOLEAN",
}
FILE_FORMATS = ("csv", "ndjson", "json_array")
DEFAULT_GLOBS = {"csv": "*.csv", "ndjson": "*.ndjson", "json_array": "*.json"}
RAW_SCHEMA = "raw"
# Metadata columns every raw table carries, so each row traces back to its file and line.
METADATA_COLUMNS: dict[str, str] = {
    "_load_id": "VARCHAR",
    "_source_file": "VARCHAR",
    "_source_line": "BIGINT",
    "_loaded_at": "TIMESTAMP",
    "_extra_columns": "JSON",
}


class ContractError(ValueError):
    """A contract file itself is invalid (not the data it describes)."""


@dataclass(frozen=True)
class FileFormat:
    type: str = "csv"
    delimiter: str = ","
    encoding: str = "utf-8"
    header: bool = True
    date_formats: tuple[str, ...] = ("%Y-%m-%d",)
    decimal_separator: str = "."
    glob: str | None = None

    @property
    def file_glob(self) -> str:
        return self.glob or DEFAULT_GLOBS[self.type]


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = False
    description: str = ""
    pii: bool = False
    pattern: str | None = None
    accepted_values: tuple[str, ...] | None = None
    aliases: tuple[str, ...] = ()
    path: str | None = None  # JSON path for JSON formats; defaults to $.<name>
    formats: tuple[str, ...] | None = None  # date/timestamp formats overriding the file's

    @property
    def raw_type(self) -> str:
        return RAW_TYPES[self.type]

    @property
    def json_path(self) -> str:
        return self.path or f"$.{self.name}"


@dataclass(frozen=True)
class Entity:
    system: str
    name: str
    description: str
    format: FileFormat
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def raw_table(self) -> str:
        """Table name inside the raw schema, e.g. ``erp__customers``."""
        return f"{self.system}__{self.name}"

    @property
    def qualified_raw_table(self) -> str:
        return f"{RAW_SCHEMA}.{self.raw_table}"

    @property
    def asset_key_path(self) -> list[str]:
        """The Dagster asset key of the ingestion asset (dbt sources point at it)."""
        return [RAW_SCHEMA, self.system, self.name]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.system}.{self.name} has no column {name!r}")

    def landing_dir(self, landing_root: Path) -> Path:
        return landing_root / self.system / self.name

    def raw_ddl(self) -> str:
        cols = [f'"{c.name}" {c.raw_type}' for c in self.columns]
        cols += [f"{name} {typ}" for name, typ in METADATA_COLUMNS.items()]
        return f"CREATE TABLE IF NOT EXISTS {self.qualified_raw_table} ({', '.join(cols)})"


@dataclass(frozen=True)
class SystemContract:
    system: str
    description: str
    path: Path
    entities: dict[str, Entity] = field(default_factory=dict)


def _tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def _parse_format(raw: dict[str, Any] | None, base: FileFormat | None, where: str) -> FileFormat:
    merged: dict[str, Any] = dict(base.__dict__) if base else {}
    for key, value in (raw or {}).items():
        if key not in FileFormat.__dataclass_fields__:
            raise ContractError(f"{where}: unknown format option {key!r}")
        merged[key] = tuple(value) if key == "date_formats" else value
    fmt = FileFormat(**merged)
    if fmt.type not in FILE_FORMATS:
        raise ContractError(f"{where}: format type {fmt.type!r} not one of {FILE_FORMATS}")
    return fmt


def _parse_column(name: str, raw: dict[str, Any], where: str) -> Column:
    unknown = set(raw) - set(Column.__dataclass_fields__)
    if unknown:
        raise ContractError(f"{where}.{name}: unknown column option(s) {sorted(unknown)}")
    if raw.get("type") not in RAW_TYPES:
        raise ContractError(f"{where}.{name}: type {raw.get('type')!r} not one of {sorted(RAW_TYPES)}")
    values = raw.get("accepted_values")
    return Column(
        name=name,
        type=raw["type"],
        required=bool(raw.get("required", False)),
        description=str(raw.get("description", "")),
        pii=bool(raw.get("pii", False)),
        pattern=raw.get("pattern"),
        accepted_values=tuple(str(v) for v in values) if values is not None else None,
        aliases=_tuple(raw.get("aliases")),
        path=raw.get("path"),
        formats=tuple(raw["formats"]) if raw.get("formats") else None,
    )


def parse_contract(path: Path) -> SystemContract:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    system = doc["system"]
    base = _parse_format(doc.get("format"), None, f"{path.name}")
    entities: dict[str, Entity] = {}
    for name, spec in doc["entities"].items():
        where = f"{path.name}:{name}"
        columns = tuple(_parse_column(c, s, where) for c, s in spec["columns"].items())
        names = {c.name for c in columns}
        key = _tuple(spec.get("primary_key"))
        if not key or not set(key) <= names:
            raise ContractError(f"{where}: primary_key {list(key)} must name declared columns")
        entities[name] = Entity(
            system=system,
            name=name,
            description=str(spec.get("description", "")),
            format=_parse_format(spec.get("format"), base, where),
            primary_key=key,
            columns=columns,
        )
    return SystemContract(system, str(doc.get("description", "")), path, entities)


@lru_cache(maxsize=8)
def load_contracts(contracts_dir: Path = CONTRACTS_DIR) -> dict[str, SystemContract]:
    """All system contracts, keyed by system name."""
    contracts = [parse_contract(p) for p in sorted(contracts_dir.glob("*.yml"))]
    return {c.system: c for c in contracts}


def all_entities(contracts_dir: Path = CONTRACTS_DIR) -> list[Entity]:
    return [e for c in load_contracts(contracts_dir).values() for e in c.entities.values()]
