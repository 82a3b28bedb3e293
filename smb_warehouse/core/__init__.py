"""Shared machinery of every domain: paths, configuration, the engine seam, SQL text helpers, notifications, the MLflow store."""
