"""Entity resolution between the int_er__* models and the entity-layer marts."""
from dagster import Definitions

from orchestration.entity_resolution.assets import entity_resolution_assets

defs = Definitions(assets=[entity_resolution_assets])
