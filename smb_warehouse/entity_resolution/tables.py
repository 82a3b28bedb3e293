"""The three output tables in schema `entity_resolution`: DDL (the contract others build on), the
previous run's ids, and an all-or-nothing write."""
from __future__ import annotations

from typing import Protocol

import duckdb
import pandas as pd

from smb_warehouse.core.warehouse import replace_tables


class ResolutionFrames(Protocol):
    """What ``write`` needs of a resolution (``matching.Resolution`` has it); a protocol, so this module
    does not import the matcher that imports it."""

    entity_map: pd.DataFrame
    match_evidence: pd.DataFrame
    review_queue: pd.DataFrame

SCHEMA = "entity_resolution"

DDL = {
    "entity_map": """
        entity_type VARCHAR NOT NULL, source_system VARCHAR NOT NULL, source_entity VARCHAR NOT NULL,
        source_id VARCHAR NOT NULL, record_key VARCHAR NOT NULL, unified_id VARCHAR NOT NULL,
        match_rule VARCHAR NOT NULL, match_score DOUBLE, resolved_at TIMESTAMP NOT NULL, er_run_id VARCHAR NOT NULL,
        PRIMARY KEY (entity_type, record_key)""",
    "match_evidence": """
        entity_type VARCHAR NOT NULL, left_record_key VARCHAR NOT NULL, right_record_key VARCHAR NOT NULL,
        decided_by VARCHAR NOT NULL, match_probability DOUBLE, match_weight DOUBLE, comparison_detail VARCHAR""",
    "review_queue": """
        entity_type VARCHAR NOT NULL, left_record_key VARCHAR NOT NULL, right_record_key VARCHAR NOT NULL,
        match_probability DOUBLE, left_summary VARCHAR, right_summary VARCHAR, status VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL""",
}
COLUMNS = {
    "entity_map": ["entity_type", "source_system", "source_entity", "source_id", "record_key", "unified_id",
                   "match_rule", "match_score", "resolved_at", "er_run_id"],
    "match_evidence": ["entity_type", "left_record_key", "right_record_key", "decided_by", "match_probability",
                       "match_weight", "comparison_detail"],
    "review_queue": ["entity_type", "left_record_key", "right_record_key", "match_probability", "left_summary",
                     "right_summary", "status", "created_at"],
}


def previous_ids(con: duckdb.DuckDBPyConnection, entity_type: str) -> dict[str, str]:
    """record_key -> unified_id from the entity_map already in this warehouse (empty on a first run)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = 'entity_map'", [SCHEMA]
    ).fetchone()[0]
    if not exists:
        return {}
    rows = con.execute(f"SELECT record_key, unified_id FROM {SCHEMA}.entity_map WHERE entity_type = ?", [entity_type]).fetchall()
    return dict(rows)


def write(con: duckdb.DuckDBPyConnection, resolution: ResolutionFrames) -> None:
    """Replace the three tables in one transaction: readers never see a map without its evidence."""
    frames = {"entity_map": resolution.entity_map, "match_evidence": resolution.match_evidence,
              "review_queue": resolution.review_queue}
    replace_tables(con, SCHEMA, frames, DDL, COLUMNS)
