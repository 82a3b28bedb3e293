"""Entity resolution: customers, suppliers and products across ERP, CRM, finance and support.

Deterministic rules on normalised keys first, then a Splink model (DuckDB backend) for organisations
the rules leave apart, then stable unified ids. `matching.resolve()` is the whole method; `orchestration/entity_resolution/assets.py`
runs it inside Dagster against the run's candidate warehouse.
"""
