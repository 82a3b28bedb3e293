"""What is merged, what is queued for a person (only the ambiguous, with its evidence), what is left apart:
model pairs around the thresholds chosen from the weights, keys several clusters hold, product mentions."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from smb_warehouse.entity_resolution import thresholds
from smb_warehouse.entity_resolution.clustering import UnionFind
from smb_warehouse.entity_resolution.matching import resolve_entity_type
from smb_warehouse.entity_resolution.products import match_products
from smb_warehouse.entity_resolution.specs import CUSTOMER, SUPPLIER


def _scored(rows: list[tuple[str, str, float]], entity_type: str = "supplier") -> pd.DataFrame:
    weight = [float(np.log2(p / (1 - p))) for _, _, p in rows]
    detail = json.dumps({"name": {"level": "Exact match on name_core", "weight": 9.1, "left": "opal foods",
                                  "right": "opal foods"}})
    return pd.DataFrame({"entity_type": entity_type, "record_key_l": [r[0] for r in rows],
                         "record_key_r": [r[1] for r in rows], "match_probability": [r[2] for r in rows],
                         "match_weight": weight, "comparison_detail": detail})


def _suppliers() -> pd.DataFrame:
    keys = ["erp:suppliers:S-1", "finance:vendors:V-1", "finance:vendors:V-2", "finance:vendors:V-3", "finance:vendors:V-4"]
    return pd.DataFrame({
        "record_key": keys, "source_system": ["erp"] + ["finance"] * 4,
        "source_entity": ["suppliers"] + ["vendors"] * 4, "source_id": [k.rsplit(":", 1)[1] for k in keys],
        "display_name": ["Opal Foods GmbH", "Opal Food", "Opal Foods", "Opal Foods GmbH", "Topas Bau AG"],
        "name_core": ["opal foods", "opal food", "opal foods", "opal foods", "topas bau"],
        "vat_id": ["DE111111111", None, None, "DE111111112", None],
    })


def test_thresholds_come_from_the_weights_and_the_band_is_just_below_the_merge_threshold() -> None:
    p = np.array([0.999] * 50 + [0.97] * 5 + [0.6, 0.3, 0.12, 0.05] + [0.001] * 200)
    chosen = thresholds.choose(p)
    assert chosen.source == "expected_f1"
    assert 0.5 <= chosen.merge <= 0.97
    # the expected F1 at the chosen threshold is the best over all thresholds >= 0.5
    k = np.arange(1, len(p) + 1)
    ps = np.sort(p)[::-1]
    f1 = 2 * np.cumsum(ps) / (k + ps.sum())
    assert chosen.expected_f1 == pytest.approx(f1[ps >= 0.5].max())
    # review: ten times lower odds than the merge threshold at most
    odds = lambda q: q / (1 - q)  # noqa: E731
    assert odds(chosen.review) == pytest.approx(odds(chosen.merge) / 10)
    # nothing to decide
    assert thresholds.choose([]).source.startswith("default")
    assert thresholds.choose([0.1, 0.2]).merge == 0.5
    with pytest.raises(ValueError):
        thresholds.choose([0.9, float("nan")])


def test_model_pairs_merged_queued_or_left_apart_by_the_thresholds() -> None:
    records = _suppliers()
    scored = _scored([
        ("erp:suppliers:S-1", "finance:vendors:V-1", 0.70),   # in the band -> review
        ("erp:suppliers:S-1", "finance:vendors:V-2", 0.99),   # above -> merged
        ("erp:suppliers:S-1", "finance:vendors:V-3", 0.97),   # above, although the VAT ids differ by one digit
        ("erp:suppliers:S-1", "finance:vendors:V-4", 0.02),   # far below -> apart, not queued
    ])
    chosen = thresholds.Thresholds(merge=0.9, review=0.5, expected_matches=2.7, expected_f1=0.9, source="test")
    result = resolve_entity_type(records, SUPPLIER, scored, chosen, previous={})
    ids = dict(zip(result.entity_map["record_key"], result.entity_map["unified_id"]))
    assert ids["erp:suppliers:S-1"] == ids["finance:vendors:V-2"] == ids["finance:vendors:V-3"]
    assert len({ids["erp:suppliers:S-1"], ids["finance:vendors:V-1"], ids["finance:vendors:V-4"]}) == 3
    queue = result.review_queue
    assert list(zip(queue["left_record_key"], queue["right_record_key"])) == [("erp:suppliers:S-1", "finance:vendors:V-1")]
    row = queue.iloc[0]
    assert row["reason"] == "model_uncertain" and row["status"] == "pending"
    assert row["match_probability"] == pytest.approx(0.70) and row["match_weight"] == pytest.approx(np.log2(0.7 / 0.3))
    assert "Opal Foods GmbH" in row["left_summary"] and "Opal Food" in row["right_summary"]
    assert json.loads(row["comparison_detail"])["name"]["level"] == "Exact match on name_core"
    model_rows = result.match_evidence[result.match_evidence["decided_by"] == "splink"]
    assert set(model_rows["right_record_key"]) == {"finance:vendors:V-2", "finance:vendors:V-3"}
    assert set(result.entity_map.loc[result.entity_map["record_key"] == "finance:vendors:V-4", "match_rule"]) == {"singleton"}


def _customers() -> pd.DataFrame:
    rows = [
        # two firms on one public mailbox provider (not on any list): the domain identifies neither
        ("erp:customers:C-1", "organisation", "Nordlicht Bau", "nordlichtbau@mailbox.test", "mailbox.test", None),
        ("erp:customers:C-2", "organisation", "Kranich Holz", "kranichholz@mailbox.test", "mailbox.test", None),
        # a firm with its own domain
        ("erp:customers:C-3", "organisation", "Orion Technik", "info@orion.test", "orion.test", None),
        ("crm:contacts:003A", "person", "Anna Roth", "anna@orion.test", "orion.test", None),
        ("support:requesters:jan@orion.test", "person", "Jan Kurz", "jan@orion.test", "orion.test", None),
        ("support:requesters:eva@mailbox.test", "person", "Eva Berg", "eva@mailbox.test", "mailbox.test", None),
        ("support:requesters:kranichholz@mailbox.test", "person", "Ole Sand", "kranichholz@mailbox.test", "mailbox.test", None),
        # an address two firms the model keeps apart both hold: the requester cannot be placed -> review
        ("erp:customers:C-4", "organisation", "Vega Logistik", "office@shared.test", "shared.test", None),
        ("erp:customers:C-5", "organisation", "Zenit Metall", "office@shared.test", "shared.test", None),
        ("support:requesters:office@shared.test", "person", "Kai Ost", "office@shared.test", "shared.test", None),
        # a CRM contact the CRM itself links to its account
        ("crm:accounts:001ACC", "organisation", "Orion Technik", None, "orion.test", None),
        ("crm:contacts:003B", "person", "Lea Nord", "lea.nord@private.test", None, "crm:accounts:001ACC"),
    ]
    df = pd.DataFrame(rows, columns=["record_key", "record_kind", "display_name", "email", "company_domain",
                                     "parent_record_key"])
    parts = df["record_key"].str.split(":", n=2, expand=True)
    df["source_system"], df["source_entity"], df["source_id"] = parts[0], parts[1], parts[2]
    df["name_core"] = df["display_name"].str.lower().where(df["record_kind"] == "organisation")
    df["phone_e164"] = None
    return df


def test_people_join_the_one_cluster_holding_their_key_and_shared_keys_decide_nothing() -> None:
    records = _customers()
    # the model merged the ERP and CRM records of Orion and nothing else
    scored = _scored([("crm:accounts:001ACC", "erp:customers:C-3", 0.999)], entity_type="customer")
    chosen = thresholds.Thresholds(merge=0.9, review=0.5, expected_matches=1, expected_f1=1, source="test")
    result = resolve_entity_type(records, CUSTOMER, scored, chosen, previous={})
    ids = dict(zip(result.entity_map["record_key"], result.entity_map["unified_id"]))
    rule = dict(zip(result.entity_map["record_key"], result.entity_map["match_rule"]))
    orion = ids["erp:customers:C-3"]
    # the company domain exactly one cluster holds places both Orion people; the CRM link places its contact
    assert ids["crm:contacts:003A"] == ids["support:requesters:jan@orion.test"] == ids["crm:contacts:003B"] == orion
    assert rule["crm:contacts:003B"] == "crm_contact_account"
    # an e-mail address one firm holds places its requester, although the domain is shared
    assert ids["support:requesters:kranichholz@mailbox.test"] == ids["erp:customers:C-2"]
    assert rule["support:requesters:kranichholz@mailbox.test"] == "email"
    # a shared provider's domain places nobody and is not queued either
    assert ids["support:requesters:eva@mailbox.test"] not in {ids["erp:customers:C-1"], ids["erp:customers:C-2"]}
    # an address held by two firms: not guessed, queued with both candidates and the evidence
    kai = ids["support:requesters:office@shared.test"]
    assert kai not in {ids["erp:customers:C-4"], ids["erp:customers:C-5"]}
    queue = result.review_queue
    queued = queue[(queue["left_record_key"] == "support:requesters:office@shared.test")
                   | (queue["right_record_key"] == "support:requesters:office@shared.test")]
    assert set(queued["reason"]) == {"email_in_several_clusters"}
    assert {*queued["left_record_key"], *queued["right_record_key"]} >= {"erp:customers:C-4", "erp:customers:C-5"}
    assert json.loads(queued["comparison_detail"].iloc[0])["clusters_holding_value"] == 2
    assert not queue["left_record_key"].str.contains("eva@").any() and not queue["right_record_key"].str.contains("eva@").any()


def test_distinct_skus_are_never_merged_and_a_name_several_skus_share_goes_to_review() -> None:
    """Issue 10: product matching merged 64 distinct SKUs of a retailer by name alone."""
    records = pd.DataFrame({
        "record_key": ["erp:products:HND-1", "erp:products:HND-2", "erp:products:HND-3", "erp:products:PWR-7048",
                       "support:product_mentions:socket set", "support:product_mentions:pwr7048",
                       "support:product_mentions:hammre max 570", "support:product_mentions:hammer 570"],
        "sku": ["HND-1", "HND-2", "HND-3", "PWR-7048", None, None, None, None],
        "code_key": ["HND1", "HND2", "HND3", "PWR7048", "SOCKETSET", "PWR7048", "HAMMREMAX570", "HAMMER570"],
        "name_clean": ["socket set", "socket set", "hammer max 570", "impact driver pro 30", "socket set", "pwr7048",
                       "hammre max 570", "hammer 570"],
    })
    uf = UnionFind(records["record_key"])
    edges, review, notes = match_products(records, uf)
    roots = {k: uf.find(k) for k in records["record_key"]}
    skus = records.loc[records["sku"].notna(), "record_key"]
    assert len({roots[k] for k in skus}) == len(skus)  # every SKU its own product
    assert "products: 2 catalogue records share their name with another SKU; kept apart" in notes
    linked = {(e["left_record_key"], e["right_record_key"]): e["decided_by"] for e in edges}
    assert linked[("erp:products:PWR-7048", "support:product_mentions:pwr7048")] == "rule:sku"
    assert linked[("erp:products:HND-3", "support:product_mentions:hammre max 570")] == "rule:product_name_fuzzy"
    assert linked[("erp:products:HND-3", "support:product_mentions:hammer 570")] == "rule:product_name_fuzzy"
    ambiguous = [r for r in review if "support:product_mentions:socket set" in (r["left_record_key"], r["right_record_key"])]
    assert {r["reason"] for r in ambiguous} == {"product_name_of_several_products"}
    assert {r["left_record_key"] for r in ambiguous} == {"erp:products:HND-1", "erp:products:HND-2"}
    assert roots["support:product_mentions:socket set"] not in {roots["erp:products:HND-1"], roots["erp:products:HND-2"]}


def test_a_mention_equally_close_to_two_products_is_reviewed_not_guessed() -> None:
    records = pd.DataFrame({
        "record_key": ["erp:products:HND-1", "erp:products:HND-2", "support:product_mentions:hammer 570"],
        "sku": ["HND-1", "HND-2", None], "code_key": ["HND1", "HND2", "HAMMER570"],
        "name_clean": ["hammer max 570", "hammer pro 570", "hammer 570"],
    })
    uf = UnionFind(records["record_key"])
    edges, review, _notes = match_products(records, uf)
    assert edges == []
    assert {r["left_record_key"] for r in review} == {"erp:products:HND-1", "erp:products:HND-2"}
    assert {r["reason"] for r in review} == {"product_name_not_clear"}
    assert all(json.loads(r["comparison_detail"])["words_subset"] for r in review)
