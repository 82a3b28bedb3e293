"""AP invoice reconciliation: the match scorer asset and the job that applies review decisions."""
from dagster import Definitions

from orchestration.reconciliation.assets import ap_reconciliation_assets, apply_review_decisions_job

defs = Definitions(assets=[ap_reconciliation_assets], jobs=[apply_review_decisions_job])
