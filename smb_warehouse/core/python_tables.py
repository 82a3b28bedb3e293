"""The single declaration of every table Python writes: the dbt source files in models/sources/.

Each Python-written table (entity map, scores, forecasts, registry mirror, ...) is declared once, as a dbt
source with a ``data_type`` per column, ``constraints: [{type: not_null}]`` where NULL is refused, and
``config.meta.primary_key`` (the form is documented at the top of each file). Three things follow from it:
the dbt docs and lineage, the empty tables a plain ``dbt build`` creates (macro
``create_python_written_tables``), and here the DDL and column order every Python write uses
(``smb_warehouse.core.warehouse.write_tables``).

The yml files are parsed directly (no dbt import at runtime) and cached for the process. A declaration that
breaks the form (a missing or unknown ``data_type``, a primary key naming no column, a table not marked
``written_by: python``) raises ``ValueError`` naming the file, table and column on first use.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

from smb_warehouse.core import paths
from smb_warehouse.core.sql import ident

SOURCES_DIR = paths.DBT_PROJECT_DIR / "models" / "sources"
WRITTEN_BY = "python"
# The type vocabulary of the declaration: DuckDB's canonical names (what information_schema reports, upper-
# cased). dbt translates them per engine in macro python_table_type; adding one here means teaching that macro.
DATA_TYPES = frozenset({"varchar", "double", "integer", "bigint", "boolean", "date", "timestamp"})
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: ~10x faster, same safe subset


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str   # one of DATA_TYPES
    not_null: bool
    description: str = ""

    @property
    def sql_type(self) -> str:
        return self.data_type.upper()


@dataclass(frozen=True)
class PythonTable:
    """One declared table. ``relation`` is ``<schema>.<identifier>``, the name Python SQL uses."""

    source: str
    schema: str
    name: str
    identifier: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    asset_key: tuple[str, ...]
    declared_in: Path

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.identifier}"

    @property
    def quoted_relation(self) -> str:
        return f"{ident(self.schema)}.{ident(self.identifier)}"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def ddl(self) -> str:
        """The column list of ``CREATE TABLE <relation> (...)``: quoted names, types, NOT NULL, PRIMARY KEY."""
        parts = [f"{ident(c.name)} {c.sql_type}{' NOT NULL' if c.not_null else ''}" for c in self.columns]
        if self.primary_key:
            parts.append(f"PRIMARY KEY ({', '.join(ident(c) for c in self.primary_key)})")
        return ", ".join(parts)


def _meta(node: dict) -> dict:
    """meta as dbt merges it: the top-level property and config.meta (config wins)."""
    return {**(node.get("meta") or {}), **((node.get("config") or {}).get("meta") or {})}


def _column(path: Path, where: str, raw: dict) -> Column:
    name = raw.get("name")
    if not name:
        raise ValueError(f"{path}: {where} has a column without a name")
    data_type = str(raw.get("data_type") or "").strip().lower()
    if data_type not in DATA_TYPES:
        raise ValueError(f"{path}: {where}.{name} needs data_type, one of {sorted(DATA_TYPES)} "
                         f"(got {raw.get('data_type')!r})")
    constraints = raw.get("constraints") or []
    kinds = [c.get("type") if isinstance(c, dict) else c for c in constraints]
    unknown = [k for k in kinds if k != "not_null"]
    if unknown:
        raise ValueError(f"{path}: {where}.{name}: only not_null constraints are read on columns (got {unknown}); "
                         "declare a primary key as config.meta.primary_key of the table")
    return Column(name=name, data_type=data_type, not_null="not_null" in kinds,
                  description=" ".join(str(raw.get("description") or "").split()))


def _tables_in(path: Path) -> list[PythonTable]:
    doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) or {}
    found = []
    for source in doc.get("sources") or []:
        source_name = source["name"]
        source_meta = _meta(source)
        for table in source.get("tables") or []:
            where = f"{source_name}.{table.get('name')}"
            meta = {**source_meta, **_meta(table)}
            if meta.get("written_by") != WRITTEN_BY:
                raise ValueError(f"{path}: {where} is in {SOURCES_DIR.name}/ but not marked "
                                 f"config.meta.written_by: {WRITTEN_BY}")
            columns = tuple(_column(path, where, c) for c in table.get("columns") or [])
            names = [c.name for c in columns]
            if not columns:
                raise ValueError(f"{path}: {where} declares no columns")
            if len(set(names)) != len(names):
                raise ValueError(f"{path}: {where} declares a column twice: {sorted({n for n in names if names.count(n) > 1})}")
            primary_key = tuple(meta.get("primary_key") or ())
            if isinstance(meta.get("primary_key"), str):
                primary_key = (meta["primary_key"],)
            missing = [k for k in primary_key if k not in names]
            if missing:
                raise ValueError(f"{path}: {where} primary_key names undeclared column(s) {missing}")
            asset_key = tuple((meta.get("dagster") or {}).get("asset_key") or ())
            if not asset_key:
                raise ValueError(f"{path}: {where} needs config.meta.dagster.asset_key (the asset that writes it)")
            found.append(PythonTable(
                source=source_name, schema=source.get("schema") or source_name,
                name=table["name"], identifier=table.get("identifier") or table["name"], columns=columns,
                primary_key=primary_key, asset_key=asset_key, declared_in=path))
    return found


@functools.cache
def _declared(sources_dir: Path) -> dict[str, PythonTable]:
    files = sorted(sources_dir.glob("*.yml"))
    if not files:
        raise FileNotFoundError(f"no source declarations (*.yml) in {sources_dir}")
    tables: dict[str, PythonTable] = {}
    for path in files:
        for table in _tables_in(path):
            if table.relation in tables:
                raise ValueError(f"{table.relation} declared twice: {tables[table.relation].declared_in} and {path}")
            tables[table.relation] = table
    return tables


def all_tables() -> dict[str, PythonTable]:
    """Every Python-written table, keyed by relation (``"ml.demand_forecasts"``), in file order."""
    return dict(_declared(SOURCES_DIR))


def table(relation: str) -> PythonTable:
    """The declaration of one Python-written table, by ``"<schema>.<table>"``.

    Raises ``KeyError`` listing the declared relations when ``relation`` is not one of them.
    """
    tables = _declared(SOURCES_DIR)
    try:
        return tables[relation]
    except KeyError:
        raise KeyError(f"{relation!r} is not a Python-written table declared in {SOURCES_DIR}; "
                       f"declared: {', '.join(sorted(tables))}") from None
