"""The three output tables in schema `entity_resolution` (declared in
models/sources/_entity_resolution__sources.yml): the previous run's ids, and an all-or-nothing write."""
from __future__ import annotations

from typing import Protocol

import duckdb
import pandas as pd

from smb_warehouse.core import python_tables
from smb_warehouse.core.warehouse import Replace, write_tables

ENTITY_MAP = python_tables.table("entity_resolution.entity_map")
MATCH_EVIDENCE = python_tables.table("entity_resolution.match_evidence")
REVIEW_QUEUE = python_tables.table("entity_resolution.review_queue")
SCHEMA = ENTITY_MAP.schema


class ResolutionFrames(Protocol):
    """What ``write`` needs of a resolution (``matching.Resolution`` has it); a protocol, so this module
    does not import the matcher that imports it."""

    entity_map: pd.DataFrame
    match_evidence: pd.DataFrame
    review_queue: pd.DataFrame


def previous_ids(con: duckdb.DuckDBPyConnection, entity_type: str) -> dict[str, str]:
    """record_key -> unified_id from the entity_map already in this warehouse (empty on a first run)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [ENTITY_MAP.schema, ENTITY_MAP.identifier]).fetchone()[0]
    if not exists:
        return {}
    sql = f"SELECT record_key, unified_id FROM {ENTITY_MAP.relation} WHERE entity_type = ?"
    return dict(con.execute(sql, [entity_type]).fetchall())


def write(con: duckdb.DuckDBPyConnection, resolution: ResolutionFrames) -> None:
    """Replace the three tables in one transaction: readers never see a map without its evidence. Frames
    need the declared columns (see ``write_tables`` for the errors raised)."""
    write_tables(con, [Replace(ENTITY_MAP, resolution.entity_map), Replace(MATCH_EVIDENCE, resolution.match_evidence),
                       Replace(REVIEW_QUEUE, resolution.review_queue)])
