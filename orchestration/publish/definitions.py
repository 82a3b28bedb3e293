"""The publish step of write-audit-publish."""
from dagster import Definitions

from orchestration.publish.assets import published_warehouse

defs = Definitions(assets=[published_warehouse])
