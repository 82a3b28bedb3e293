"""The publish step of write-audit-publish, and the opt-in PostgreSQL publish that follows it."""
from dagster import Definitions

from orchestration.publish.assets import published_warehouse
from orchestration.publish.postgres import postgres_publish_job, postgres_publish_sensor, postgres_warehouse

defs = Definitions(assets=[published_warehouse, postgres_warehouse], jobs=[postgres_publish_job],
                   sensors=[postgres_publish_sensor])
