"""Entity resolution: customers, suppliers and products across ERP, CRM, finance and support.

A Splink model estimated on the organisation records themselves (thresholds from its own weights), key
rules for people that exactly one cluster's key reaches, SKU and name rules for products, then stable
unified ids. `matching.resolve()` is the whole method; `orchestration/entity_resolution/assets.py` runs it
inside Dagster against the run's candidate warehouse.
"""
