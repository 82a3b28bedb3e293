"""Uncertain pairs are queued for review and never merged."""
from __future__ import annotations

import json

import pandas as pd

from smb_warehouse.entity_resolution import products
from smb_warehouse.entity_resolution.clustering import UnionFind
from smb_warehouse.entity_resolution.matching import _model_links, resolve_entity_type
from smb_warehouse.entity_resolution.specs import SUPPLIER
from smb_warehouse.entity_resolution.splink_model import SplinkConfig


def _scored(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame([
        {"entity_type": "supplier", "record_key_l": l, "record_key_r": r, "match_probability": p, "match_weight": 1.0,
         "comparison_detail": json.dumps({"name_core": 3})} for l, r, p in rows
    ])


def _records() -> pd.DataFrame:
    return pd.DataFrame({
        "record_key": ["erp:suppliers:S-1", "finance:vendors:V-1", "finance:vendors:V-2", "finance:vendors:V-3"],
        "source_system": ["erp", "finance", "finance", "finance"],
        "source_entity": ["suppliers", "vendors", "vendors", "vendors"],
        "source_id": ["S-1", "V-1", "V-2", "V-3"],
        "display_name": ["Opal Foods GmbH", "Opal Food", "Opal Foods", "Opal Foods GmbH"],
        "name_clean": ["opal foods gmbh", "opal food", "opal foods", "opal foods gmbh x"],
        "vat_core": ["111111111", None, None, "222222222"],
        "company_domain": [None, None, None, None],
        "email": [None] * 4, "phone_e164": [None] * 4,
    })


def test_ambiguous_and_conflicting_pairs_go_to_review_not_merged() -> None:
    records = _records()
    scored = _scored([
        ("erp:suppliers:S-1", "finance:vendors:V-1", 0.70),   # unsure -> review
        ("erp:suppliers:S-1", "finance:vendors:V-2", 0.99),   # sure -> merged
        ("erp:suppliers:S-1", "finance:vendors:V-3", 0.99),   # sure, but the VAT ids disagree -> review
    ])
    result = resolve_entity_type(records, SUPPLIER, scored, SplinkConfig(), previous={})
    ids = dict(zip(result.entity_map["record_key"], result.entity_map["unified_id"]))
    queue = set(zip(result.review_queue["left_record_key"], result.review_queue["right_record_key"]))
    assert queue == {("erp:suppliers:S-1", "finance:vendors:V-1"), ("erp:suppliers:S-1", "finance:vendors:V-3")}
    assert ids["erp:suppliers:S-1"] == ids["finance:vendors:V-2"]
    assert ids["erp:suppliers:S-1"] != ids["finance:vendors:V-1"]
    assert ids["erp:suppliers:S-1"] != ids["finance:vendors:V-3"]
    assert (result.review_queue["status"] == "pending").all()
    assert result.review_queue["left_summary"].str.contains("Opal").all()
    splink_rows = result.match_evidence[result.match_evidence["decided_by"] == "splink"]
    assert list(zip(splink_rows["left_record_key"], splink_rows["right_record_key"])) == [
        ("erp:suppliers:S-1", "finance:vendors:V-2")]


def test_pairs_below_review_threshold_are_neither_merged_nor_queued() -> None:
    uf = UnionFind(["a", "b"])
    accepted, review = _model_links(_scored([("a", "b", 0.3)]).query("match_probability >= 0.5"), SplinkConfig(), uf)
    assert accepted == [] and review == [] and uf.find("a") != uf.find("b")


def test_product_mention_equally_close_to_two_products_is_reviewed() -> None:
    records = pd.DataFrame({
        "record_key": ["erp:products:HND-1", "erp:products:HND-2", "support:product_mentions:hammer 570",
                       "support:product_mentions:hammre max 570"],
        "source_entity": ["products", "products", "product_mentions", "product_mentions"],
        "name_clean": ["hammer max 570", "hammer pro 570", "hammer 570", "hammre max 570"],
    })
    links, review = products.match_mentions(records, ["support:product_mentions:hammer 570",
                                                      "support:product_mentions:hammre max 570"])
    # a typo of one product's name links; 'hammer 570' fits both products equally -> review, no link
    assert list(links["left_record_key"] + "|" + links["right_record_key"]) == [
        "erp:products:HND-1|support:product_mentions:hammre max 570"]
    assert set(review["left_record_key"]) == {"erp:products:HND-1", "erp:products:HND-2"}
    assert set(review["right_record_key"]) == {"support:product_mentions:hammer 570"}
