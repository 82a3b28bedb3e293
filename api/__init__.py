"""The v1 REST API (FastAPI) over the published warehouse, the AP review store and the event intake, and the
review web page. Never imports Dagster or orchestration."""
