"""Dagster assets of entity resolution (the algorithm lives in smb_warehouse.entity_resolution)."""
