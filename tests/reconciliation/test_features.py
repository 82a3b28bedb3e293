"""The scorer's labels, fingerprints and gate without a pipeline: weak bootstrap labels never use ground truth, a
human decision replaces them for its invoice, the training fingerprint moves only with the data or the labels,
and the gate replays the outcome model's precedence on held-out cases."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smb_warehouse.reconciliation import gate, scorer
from smb_warehouse.reconciliation.config import GateConfig, MatchRules
from smb_warehouse.reconciliation.features import FEATURES, edit_distances, levenshtein, matrix, training_set

NO_DECISIONS = pd.DataFrame(columns=["invoice_id", "action", "po_number", "decided_at"])
RULES = MatchRules(auto_match_threshold=0.5, min_score_margin=0.3, review_threshold=0.2)


def _pair(**values) -> dict:
    base = {"found_by": "supplier", "po_reference": "PO-000100", "ref_missing": False, "same_supplier": True,
            "vendor_name_similarity": 0.95, "same_currency": True, "has_receipt": True, "po_amount_ratio": 0.5,
            "quantity_ratio": 1.0, "date_gap_days": 2, "duplicate_signal": False, "quantity_within_tolerance": True}
    return {**base, **values}


def _candidates() -> pd.DataFrame:
    rows = [
        _pair(invoice_id="AP-1", po_number="PO-000100", ref_exact=True, ref_edit_distance=0, amount_ratio=1.0,
              amount_within_tolerance=True, rule_checks_pass=True, is_rule_match=True),
        _pair(invoice_id="AP-1", po_number="PO-000200", ref_exact=False, ref_edit_distance=1, amount_ratio=1.4,
              amount_within_tolerance=False, rule_checks_pass=False, is_rule_match=False),
        _pair(invoice_id="AP-2", po_number="PO-000300", po_reference=None, ref_missing=True, ref_exact=False,
              ref_edit_distance=None, amount_ratio=1.0, amount_within_tolerance=True, rule_checks_pass=True,
              is_rule_match=False),
        _pair(invoice_id="AP-2", po_number="PO-000400", po_reference=None, ref_missing=True, ref_exact=False,
              ref_edit_distance=None, amount_ratio=2.0, amount_within_tolerance=False, rule_checks_pass=False,
              is_rule_match=False),
    ]
    return pd.DataFrame(rows)


def test_bootstrap_labels_rule_matches_with_reference_augmentations():
    labelled = training_set(_candidates(), NO_DECISIONS)
    assert set(labelled["invoice_id"]) == {"AP-1"}  # AP-2 has no confident rule match: unlabelled
    assert set(labelled["variant"]) == {"as_keyed", "no_reference", "typo", "other_po"}
    positives = labelled[labelled["label"] == 1]
    assert set(positives["po_number"]) == {"PO-000100"}
    other = labelled[labelled["variant"] == "other_po"].set_index("po_number")
    assert other.loc["PO-000200", "ref_exact"] and not other.loc["PO-000100", "ref_exact"]
    # the rules' verdict follows the variant's reference: without it (or with a typo) nothing is a rule match
    by_variant = labelled.groupby("variant")["is_rule_match"].any()
    assert by_variant["as_keyed"] and not by_variant["no_reference"] and not by_variant["typo"]
    typo = labelled[(labelled["variant"] == "typo") & (labelled["po_number"] == "PO-000100")]
    assert typo["ref_edit_distance"].iloc[0] == 1 and typo["po_reference"].iloc[0] != "PO-000100"
    assert not matrix(labelled).isna().any().any() and list(matrix(labelled).columns) == FEATURES


def test_human_decisions_replace_weak_labels():
    decisions = pd.DataFrame([
        {"invoice_id": "AP-1", "action": "reassign", "po_number": "PO-000200", "decided_at": "2025-01-01"},
        {"invoice_id": "AP-2", "action": "approve", "po_number": "PO-000300", "decided_at": "2025-01-02"},
    ])
    labelled = training_set(_candidates(), decisions)
    assert set(labelled["variant"]) == {"human_decision"}
    assert set(labelled.loc[labelled["label"] == 1, "po_number"]) == {"PO-000200", "PO-000300"}
    assert (labelled["weight"] > 1).all()
    rejected = training_set(_candidates(), pd.DataFrame([{"invoice_id": "AP-2", "action": "reject", "po_number": None,
                                                          "decided_at": "2025-01-03"}]))
    assert (rejected.loc[rejected["invoice_id"] == "AP-2", "label"] == 0).all()


def test_levenshtein_matches_the_warehouse_definition():
    assert levenshtein("PO-000123", "PO-000123") == 0
    assert levenshtein("PO-000123", "PO-000128") == 1
    assert levenshtein("PO-0001", "PO-000123") == 2
    got = edit_distances(pd.Series(["PO-000123", None, "PO-0001", "see delivery note"]),
                         pd.Series(["PO-000128", "PO-000001", "PO-000123", "PO-000123"]))
    assert got[0] == 1 and np.isnan(got[1]) and got[2] == 2 and got[3] == levenshtein("see delivery note", "PO-000123")


def test_training_fingerprint_moves_only_with_data_or_labels():
    candidates = _candidates()
    first = scorer.fingerprints(candidates, NO_DECISIONS, seed=0, holdout_share=0.2)
    shuffled = candidates.sample(frac=1.0, random_state=3)
    assert scorer.fingerprints(shuffled, NO_DECISIONS, seed=0, holdout_share=0.2) == first  # row order is not data
    changed = candidates.assign(amount_ratio=candidates["amount_ratio"].where(candidates.index != 3, 2.5))
    assert scorer.fingerprints(changed, NO_DECISIONS, 0, 0.2)["data_fingerprint"] != first["data_fingerprint"]
    decided = pd.DataFrame([{"invoice_id": "AP-2", "action": "approve", "po_number": "PO-000300", "decided_at": "2025-01-02"}])
    second = scorer.fingerprints(candidates, decided, seed=0, holdout_share=0.2)
    assert second["data_fingerprint"] == first["data_fingerprint"]
    assert second["labels_fingerprint"] != first["labels_fingerprint"]
    assert second["training_fingerprint"] != first["training_fingerprint"]


def test_holdout_is_a_stable_share_of_invoices():
    ids = pd.Series([f"AP-{i:07d}" for i in range(2000)])
    held = gate.holdout_mask(ids, 0.2)
    assert 0.15 < held.mean() < 0.25
    assert (gate.holdout_mask(ids[::-1].reset_index(drop=True), 0.2) == held[::-1]).all()  # per id, not per position


def _case_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame([_pair(**r) for r in rows])
    for col in ("is_rule_match", "ref_exact", "amount_within_tolerance"):
        frame[col] = frame[col].astype(bool)
    return frame.assign(weight=1.0)


def test_gate_replays_the_outcome_precedence():
    cases = _case_frame([
        # case A: a rule match (the scorer is never asked)
        {"invoice_id": "A", "variant": "v", "po_number": "P1", "is_rule_match": True, "ref_exact": True,
         "amount_within_tolerance": True, "amount_ratio": 1.0, "label": 1},
        {"invoice_id": "A", "variant": "v", "po_number": "P2", "is_rule_match": False, "ref_exact": False,
         "amount_within_tolerance": True, "amount_ratio": 1.0, "label": 0},
        # case B: no reference; only a scorer can match it
        {"invoice_id": "B", "variant": "v", "po_number": "P3", "is_rule_match": False, "ref_exact": False,
         "amount_within_tolerance": True, "amount_ratio": 1.0, "label": 1},
        {"invoice_id": "B", "variant": "v", "po_number": "P4", "is_rule_match": False, "ref_exact": False,
         "amount_within_tolerance": False, "amount_ratio": 1.5, "label": 0},
        # case C: a duplicate is never auto-matched
        {"invoice_id": "C", "variant": "v", "po_number": "P5", "is_rule_match": True, "ref_exact": True,
         "amount_within_tolerance": True, "amount_ratio": 1.0, "label": 0, "duplicate_signal": True},
    ])
    good = np.array([0.1, 0.9, 0.95, 0.05, 0.99])
    baseline = gate.decide(cases, None, RULES)
    assert baseline[("A", "v")] == "P1" and pd.isna(baseline[("B", "v")]) and pd.isna(baseline[("C", "v")])
    model = gate.decide(cases, good, RULES)
    assert model[("A", "v")] == "P1" and model[("B", "v")] == "P3" and pd.isna(model[("C", "v")])
    close_call = gate.decide(cases, np.array([0.1, 0.9, 0.6, 0.5, 0.99]), RULES)  # lead 0.1 < margin 0.3
    assert pd.isna(close_call[("B", "v")])

    config = GateConfig(margin=0.02, wrong_match_cost=10.0, min_heldout_cases=3)
    passed = gate.judge(cases, good, None, RULES, config)
    assert passed.passed and passed.candidate.correct_rate == pytest.approx(2 / 3)
    assert passed.baseline.correct_rate == pytest.approx(1 / 3) and passed.baseline.wrong_rate == 0
    # a scorer that picks the wrong PO for B is worse than rules only: refused
    wrong = gate.judge(cases, np.array([0.1, 0.9, 0.05, 0.95, 0.99]), None, RULES, config)
    assert not wrong.passed
    # ... even when it fits the amount: P4 now fits, and is wrong
    fits = cases.assign(amount_within_tolerance=True)
    assert not gate.judge(fits, np.array([0.1, 0.9, 0.05, 0.95, 0.99]), None, RULES, config).passed
    # better than rules only but worse than the champion (which also finds D): refused
    with_d = pd.concat([cases, _case_frame([
        {"invoice_id": "D", "variant": "v", "po_number": "P6", "is_rule_match": False, "ref_exact": False,
         "amount_within_tolerance": True, "amount_ratio": 1.0, "label": 1}])], ignore_index=True)
    candidate, champion = np.r_[good, 0.4], np.r_[good, 0.9]
    verdict = gate.judge(with_d, candidate, champion, RULES, config)
    assert verdict.candidate.utility > verdict.baseline.utility + config.margin
    assert not verdict.passed and verdict.reason.startswith("worse than the champion")
    assert gate.judge(with_d, champion, candidate, RULES, config).passed
    # no model or too few cases: refused, with the reason
    assert not gate.judge(cases, None, None, RULES, config).passed
    assert "held-out" in gate.judge(cases, good, None, RULES, GateConfig(min_heldout_cases=10)).reason
