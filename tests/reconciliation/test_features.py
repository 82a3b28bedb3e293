"""The scorer's labels without a pipeline: weak bootstrap labels never use ground truth, and a human decision
replaces them for its invoice."""
from __future__ import annotations

import pandas as pd

from smb_warehouse.reconciliation.features import FEATURES, levenshtein, matrix, training_set


def _candidates() -> pd.DataFrame:
    base = dict(found_by="supplier", po_reference="PO-000100", ref_missing=False, same_supplier=True,
                vendor_name_similarity=0.95, same_currency=True, has_receipt=True, po_amount_ratio=0.5,
                quantity_ratio=1.0, date_gap_days=2, duplicate_signal=False)
    rows = [
        dict(base, invoice_id="AP-1", po_number="PO-000100", ref_exact=True, ref_edit_distance=0, amount_ratio=1.0, is_rule_match=True),
        dict(base, invoice_id="AP-1", po_number="PO-000200", ref_exact=False, ref_edit_distance=1, amount_ratio=1.4, is_rule_match=False),
        dict(base, invoice_id="AP-2", po_number="PO-000300", po_reference=None, ref_missing=True, ref_exact=False,
             ref_edit_distance=None, amount_ratio=1.0, is_rule_match=False),
        dict(base, invoice_id="AP-2", po_number="PO-000400", po_reference=None, ref_missing=True, ref_exact=False,
             ref_edit_distance=None, amount_ratio=2.0, is_rule_match=False),
    ]
    return pd.DataFrame(rows)


def test_bootstrap_labels_rule_matches_with_reference_augmentations():
    labelled = training_set(_candidates(), pd.DataFrame(columns=["invoice_id", "action", "po_number", "decided_at"]))
    assert set(labelled["invoice_id"]) == {"AP-1"}  # AP-2 has no confident rule match: unlabelled
    assert set(labelled["variant"]) == {"as_keyed", "no_reference", "typo", "other_po"}
    positives = labelled[labelled["label"] == 1]
    assert set(positives["po_number"]) == {"PO-000100"}
    other = labelled[labelled["variant"] == "other_po"].set_index("po_number")
    assert other.loc["PO-000200", "ref_exact"] and not other.loc["PO-000100", "ref_exact"]
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


def test_levenshtein_matches_the_warehouse_definition():
    assert levenshtein("PO-000123", "PO-000123") == 0
    assert levenshtein("PO-000123", "PO-000128") == 1
    assert levenshtein("PO-0001", "PO-000123") == 2
