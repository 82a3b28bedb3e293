"""Ingestion: one asset per contract entity, the ledger with its blocking check, the landing-zone sensor."""
from dagster import Definitions

from orchestration.ingestion.assets import build_ingestion_assets
from orchestration.ingestion.audit import ingestion_ledger
from orchestration.ingestion.sensors import landing_zone_sensor

defs = Definitions(assets=[*build_ingestion_assets(), ingestion_ledger], sensors=[landing_zone_sensor])
