"""Dagster assets, checks and sensors of ingestion (the loader lives in smb_warehouse.ingestion)."""
