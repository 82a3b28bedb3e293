"""The tables the triage asset writes (schema `triage`). Column lists are the contract shared with
macros/workflows/triage/triage_ensure_output_tables.sql and models/sources/_triage__sources.yml."""
from __future__ import annotations

SCHEMA = "triage"
PREDICTION_COLUMNS = {
    "support_ticket_id": "VARCHAR", "predicted_category": "VARCHAR", "category_confidence": "DOUBLE",
    "predicted_priority": "VARCHAR", "priority_confidence": "DOUBLE", "suggested_team": "VARCHAR", "route": "VARCHAR",
    "is_auto_triaged": "BOOLEAN", "label_split": "VARCHAR", "desk_category": "VARCHAR", "desk_priority": "VARCHAR",
    "category_model_version": "VARCHAR", "priority_model_version": "VARCHAR", "predicted_at": "TIMESTAMP", "run_id": "VARCHAR",
}
KB_COLUMNS = {
    "support_ticket_id": "VARCHAR", "suggestion_rank": "INTEGER", "support_article_id": "VARCHAR",
    "similarity": "DOUBLE", "run_id": "VARCHAR",
}
