"""Circuit breakers of the AI workflows (smb_warehouse/core/safe_mode.py): the store's copy in the warehouse."""
from dagster import Definitions

from orchestration.safe_mode.assets import workflow_safe_mode

defs = Definitions(assets=[workflow_safe_mode])
