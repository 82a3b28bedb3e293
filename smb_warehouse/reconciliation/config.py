"""Settings of AP reconciliation that Python needs.

Match rules: the auto-match thresholds and tolerances are dbt vars (dbt_project.yml, `vars:`), used by
int_ap_recon__candidates and fct_ap_invoice_outcomes; the scorer's gate replays the outcome model's decision on
held-out labels and reads the same values here, so the gate judges exactly the rule the mart applies. A var
missing from dbt_project.yml is an error (no second default that could drift from the SQL).

Gate and circuit-breaker thresholds are environment settings (like the triage confidence bar):

    SMB_RECON_GATE_MARGIN          the scorer must beat the rule-only baseline's held-out utility by this (0.02)
    SMB_RECON_WRONG_MATCH_COST     a wrong auto-match costs this many correct ones in that utility (10)
    SMB_RECON_GATE_MIN_HELDOUT     fewer held-out labelled invoice cases than this: no verdict, the gate fails (20)
    SMB_RECON_MAX_QUARANTINE_SHARE input contract guard: share of AP source records quarantined in their latest
                                   load (invoices, invoice lines, POs, PO lines, goods receipts) above this (0.05)
    SMB_RECON_MAX_DRIFT            drift guard: |this run's rule-match share - the serving scorer's training
                                   share|, same for the share of invoices without a PO reference (0.15)
    SMB_RECON_MAX_REVERSAL_RATE    live-KPI guard: auto-matches later reversed by a reviewer / auto-matches (0.02) ...
    SMB_RECON_MIN_REVERSALS        ... counted once there are at least this many reversals (3)
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from smb_warehouse.core.dbt_project import dbt_vars

WORKFLOW = "ap_reconciliation"      # name in the safe-mode store (smb_warehouse/core/safe_mode.py)
SAFE_MODE = "all_to_review"         # the AP breaker's safe mode: no auto-match, every invoice to a person


@dataclass(frozen=True)
class MatchRules:
    """The outcome model's auto-match rule (fct_ap_invoice_outcomes): a rule match wins; else the scorer's best
    PO auto-matches when its score >= auto_match_threshold, it leads the runner-up by >= min_score_margin and its
    quantities, amount and currency agree (tolerances are applied in int_ap_recon__candidates)."""

    auto_match_threshold: float
    min_score_margin: float
    review_threshold: float

    @classmethod
    def from_dbt_project(cls, project_dir: Path | None = None) -> MatchRules:
        """Raises ``KeyError`` naming the var when dbt_project.yml lacks one."""
        found = dbt_vars(project_dir)
        names = {"auto_match_threshold": "recon_auto_match_threshold", "min_score_margin": "recon_min_score_margin",
                 "review_threshold": "recon_review_threshold"}
        missing = [v for v in names.values() if v not in found]
        if missing:
            raise KeyError(f"dbt_project.yml vars lack {', '.join(missing)} (the AP outcome model and the scorer's "
                           "gate both read them)")
        return cls(**{k: float(found[v]) for k, v in names.items()})


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    try:
        return float(value) if value not in (None, "") else default
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, not {value!r}") from exc


@dataclass(frozen=True)
class GateConfig:
    """The scorer's gate (see smb_warehouse.reconciliation.gate)."""

    margin: float = field(default_factory=lambda: _env_float("SMB_RECON_GATE_MARGIN", 0.02))
    wrong_match_cost: float = field(default_factory=lambda: _env_float("SMB_RECON_WRONG_MATCH_COST", 10.0))
    min_heldout_cases: int = field(default_factory=lambda: int(_env_float("SMB_RECON_GATE_MIN_HELDOUT", 20)))
    holdout_share: float = 0.2


@dataclass(frozen=True)
class GuardConfig:
    """The AP circuit breaker's thresholds (see smb_warehouse.reconciliation.guards)."""

    max_quarantine_share: float = field(default_factory=lambda: _env_float("SMB_RECON_MAX_QUARANTINE_SHARE", 0.05))
    max_drift: float = field(default_factory=lambda: _env_float("SMB_RECON_MAX_DRIFT", 0.15))
    max_reversal_rate: float = field(default_factory=lambda: _env_float("SMB_RECON_MAX_REVERSAL_RATE", 0.02))
    min_reversals: int = field(default_factory=lambda: int(_env_float("SMB_RECON_MIN_REVERSALS", 3)))
