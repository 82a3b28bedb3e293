"""Cash-flow monitoring: bank-line anomaly scores and alert notifications."""
from dagster import Definitions

from orchestration.cashflow.assets import alert_notifications, bank_txn_scores

defs = Definitions(assets=[bank_txn_scores, alert_notifications])
