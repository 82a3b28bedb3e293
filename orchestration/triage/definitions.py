"""Support triage: ticket classifiers and knowledge-base suggestions."""
from dagster import Definitions

from orchestration.triage.assets import ticket_triage

defs = Definitions(assets=[ticket_triage])
