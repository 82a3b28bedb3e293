"""The SMB warehouse's domain code: everything that is not Dagster.

``core`` holds what every domain shares (paths, configuration, the engine seam, SQL text helpers,
notifications, the MLflow store); each other package is one domain (ingestion, entity_resolution,
forecasting, reconciliation, cashflow, triage) and imports ``core`` and nothing above it. Nothing in
this package imports Dagster: the REST API, the event intake and the benchmarks use it directly, and
``orchestration/`` wraps it as assets.
"""
