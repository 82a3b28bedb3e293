"""The invoice_match_scorer's gate: the outcome model's decision replayed on held-out labels, with the scorer
and without it (rules only), and with the current champion.

Held-out labels: a deterministic share of invoices (hash of the invoice id, the same invoices every run) never
enters training; their labelled cases are the bootstrap cases (a confident rule match shown as keyed, without
its reference, with a mistyped one and with another PO's number; smb_warehouse.reconciliation.features) and
every human review decision. One case = one (invoice, variant); its truth is the PO labelled 1, or none (a
rejected invoice).

Decision per case, as fct_ap_invoice_outcomes takes it (precedence): a duplicate invoice is never
auto-matched; a rule match (quoted PO exact, rule checks pass) auto-matches its PO (the closest amount, then
the PO number); a quoted PO whose quantities agree but amount does not is a price-variance exception; else,
with a scorer only, the best-scored PO auto-matches when its score, its lead over the runner-up and its
tolerances pass (config.MatchRules).

Utility per system = (correct auto-matches - wrong_match_cost x wrong auto-matches) / cases, case-weighted
(human decisions weigh more, as in training). The candidate passes when its utility beats the rule-only
baseline's by at least the configured margin and is not below the champion's (when there is one).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from smb_warehouse.reconciliation.config import GateConfig, MatchRules

CASE = ["invoice_id", "variant"]


def holdout_mask(invoice_ids: pd.Series, share: float) -> np.ndarray:
    """True for held-out invoices: sha256 of the id, so the split is the same in every run and on every machine."""
    unique = pd.Series(invoice_ids.unique())
    bucket = unique.map(lambda i: int(hashlib.sha256(str(i).encode()).hexdigest()[:8], 16) % 1000)
    held = dict(zip(unique, bucket < share * 1000))
    return invoice_ids.map(held).to_numpy(dtype=bool)


def decide(cases: pd.DataFrame, scores: np.ndarray | None, rules: MatchRules) -> pd.Series:
    """The PO each case auto-matches to (index: (invoice_id, variant); NaN = not auto-matched).

    ``cases``: candidate rows with CASE columns and the candidate model's columns (is_rule_match, ref_exact,
    same_supplier, same_currency, quantity_within_tolerance, amount_within_tolerance, amount_ratio,
    duplicate_signal, po_number); ``scores``: one score per row, or None for the rule-only baseline.
    """
    c = cases[CASE + ["po_number"]].copy()
    flag = lambda col: cases[col].fillna(False).astype(bool).to_numpy()  # noqa: E731
    c["rule"] = flag("is_rule_match")
    c["variance"] = (flag("ref_exact") & flag("same_supplier") & flag("quantity_within_tolerance")
                     & ~flag("amount_within_tolerance"))
    c["duplicate"] = flag("duplicate_signal")
    c["fits"] = flag("quantity_within_tolerance") & flag("amount_within_tolerance") & flag("same_currency")
    c["amount_fit"] = (pd.to_numeric(cases["amount_ratio"], errors="coerce") - 1).abs().fillna(np.inf).to_numpy()
    c["score"] = np.zeros(len(c)) if scores is None else np.asarray(scores, dtype=float)
    groups = c.groupby(CASE, sort=False)
    index = pd.MultiIndex.from_frame(c[CASE].drop_duplicates())
    chosen = pd.Series(np.nan, index=index, dtype=object)

    rule_po = (c[c["rule"]].sort_values(CASE + ["amount_fit", "po_number"]).drop_duplicates(CASE)
               .set_index(CASE)["po_number"])
    chosen.loc[rule_po.index] = rule_po
    blocked = groups["duplicate"].any() | (groups["variance"].any() & ~groups["rule"].any())
    if scores is not None:
        ranked = c.sort_values(CASE + ["score", "po_number"], ascending=[True, True, False, True])
        ranked["rank"] = ranked.groupby(CASE, sort=False).cumcount()
        best = ranked[ranked["rank"] == 0].set_index(CASE)
        runner = ranked[ranked["rank"] == 1].set_index(CASE)["score"].reindex(best.index).fillna(0.0)
        ok = ((best["score"] >= rules.auto_match_threshold) & (best["score"] - runner >= rules.min_score_margin)
              & best["fits"])
        model_po = best.loc[ok, "po_number"]
        open_cases = model_po.index.difference(rule_po.index)
        chosen.loc[open_cases] = model_po.loc[open_cases]
    chosen.loc[blocked[blocked].index] = np.nan
    return chosen


@dataclass(frozen=True)
class SystemResult:
    """One system on the held-out cases (shares weighted by case weight)."""

    auto_match_rate: float
    correct_rate: float
    wrong_rate: float
    utility: float


def evaluate(cases: pd.DataFrame, scores: np.ndarray | None, rules: MatchRules, wrong_match_cost: float) -> SystemResult:
    """``cases`` as for ``decide`` plus ``label`` (1 = the right PO) and ``weight``."""
    chosen = decide(cases, scores, rules)
    truth = cases[cases["label"] == 1].drop_duplicates(CASE).set_index(CASE)["po_number"].reindex(chosen.index)
    weight = cases.groupby(CASE, sort=False)["weight"].max().reindex(chosen.index).to_numpy(dtype=float)
    auto = chosen.notna().to_numpy()
    correct = auto & (chosen.to_numpy() == truth.to_numpy())
    wrong = auto & ~correct
    total = weight.sum()
    if total <= 0:
        return SystemResult(0.0, 0.0, 0.0, 0.0)
    share = lambda mask: float(weight[mask].sum() / total)  # noqa: E731
    return SystemResult(share(auto), share(correct), share(wrong), share(correct) - wrong_match_cost * share(wrong))


@dataclass(frozen=True)
class GateResult:
    passed: bool
    reason: str
    cases: int
    candidate: SystemResult | None
    baseline: SystemResult | None
    champion: SystemResult | None

    def metrics(self) -> dict[str, float]:
        """Flat figures for MLflow / Dagster metadata (gate_<system>_<figure>)."""
        out: dict[str, float] = {"gate_heldout_cases": float(self.cases), "gate_passed": float(self.passed)}
        for name in ("candidate", "baseline", "champion"):
            result = getattr(self, name)
            if result is not None:
                out.update({f"gate_{name}_{k}": float(v) for k, v in result.__dict__.items()})
        return out


def judge(heldout: pd.DataFrame, candidate_scores: np.ndarray | None, champion_scores: np.ndarray | None,
          rules: MatchRules, config: GateConfig) -> GateResult:
    """Gate verdict on the held-out cases. ``candidate_scores`` None = no candidate model (nothing learnt):
    fails. ``champion_scores`` None = no champion to compare with."""
    n_cases = int(heldout[CASE].drop_duplicates().shape[0]) if len(heldout) else 0
    if candidate_scores is None:
        return GateResult(False, "no candidate model (no labels to learn from)", n_cases, None, None, None)
    if n_cases < config.min_heldout_cases:
        return GateResult(False, f"only {n_cases} held-out labelled cases (< {config.min_heldout_cases}): no verdict",
                          n_cases, None, None, None)
    cost = config.wrong_match_cost
    candidate = evaluate(heldout, candidate_scores, rules, cost)
    baseline = evaluate(heldout, None, rules, cost)
    champion = evaluate(heldout, champion_scores, rules, cost) if champion_scores is not None else None
    figures = (f"held-out utility {candidate.utility:.4f} (wrong {candidate.wrong_rate:.2%}) vs rules only "
               f"{baseline.utility:.4f}" + (f", champion {champion.utility:.4f}" if champion else "")
               + f"; margin {config.margin}, wrong-match cost {cost:g}, {n_cases} cases")
    if candidate.utility < baseline.utility + config.margin:
        return GateResult(False, "does not beat the rule-only baseline by the margin: " + figures, n_cases,
                          candidate, baseline, champion)
    if champion is not None and candidate.utility < champion.utility:
        return GateResult(False, "worse than the champion: " + figures, n_cases, candidate, baseline, champion)
    return GateResult(True, "passed: " + figures, n_cases, candidate, baseline, champion)
