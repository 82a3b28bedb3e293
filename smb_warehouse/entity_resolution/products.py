"""Support mentions the rules could not place (typos, a dropped word) matched to the ERP catalogue.

Not Splink: a mention links to at most one catalogue product and there are no mention-to-mention
matches to learn from, so a nearest-neighbour search with explicit similarity levels is both simpler
and easier to explain. Ties go to the review queue instead of being guessed.
"""
from __future__ import annotations

import json

import duckdb
import pandas as pd

ACCEPT = 0.93      # best candidate at or above: linked
MARGIN = 0.02      # ... unless the runner-up is this close (ambiguous -> review)
REVIEW = 0.85      # below ACCEPT but at or above: reviewed, not linked

_SQL = """
with m as (select record_key, name_clean, regexp_extract(name_clean, '([0-9]+)$', 1) as num from mentions),
p as (select record_key, name_clean, regexp_extract(name_clean, '([0-9]+)$', 1) as num from catalogue),
scored as (
    select m.record_key as mention_key, p.record_key as product_key,
           jaro_winkler_similarity(m.name_clean, p.name_clean) as jw,
           damerau_levenshtein(m.name_clean, p.name_clean) as dl,
           list_has_all(string_split(p.name_clean, ' '), string_split(m.name_clean, ' ')) as subset
    from m join p on m.num = '' or m.num = p.num      -- a model number that differs is another product
),
ranked as (
    select *, greatest(jw, case when dl <= 2 then 0.98 when subset then 0.96 else 0 end) as score
    from scored
)
select *, row_number() over (partition by mention_key order by score desc, product_key) as rank
from ranked
qualify rank <= 2 and score >= ?
order by mention_key, rank
"""


def match_mentions(records: pd.DataFrame, unplaced: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(links, review): links as evidence rows; review pairs as (left, right, probability)."""
    mentions = records[records["record_key"].isin(unplaced) & records["name_clean"].notna()][["record_key", "name_clean"]]
    catalogue = records[(records["source_entity"] == "products") & records["name_clean"].notna()][["record_key", "name_clean"]]
    if mentions.empty or catalogue.empty:
        return pd.DataFrame(), pd.DataFrame()
    con = duckdb.connect()
    try:
        con.register("mentions", mentions)
        con.register("catalogue", catalogue)
        scored = con.execute(_SQL, [REVIEW]).df()
    finally:
        con.close()
    links, review = [], []
    for _mention, group in scored.groupby("mention_key", sort=True):
        best = group[group["rank"] == 1].iloc[0]
        ambiguous = len(group) > 1 and group["score"].iloc[1:].max() >= best.score - MARGIN
        if best.score >= ACCEPT and not ambiguous:
            left, right = sorted((best.mention_key, best.product_key))
            detail = {"rule": "product_name_fuzzy", "jaro_winkler": round(float(best.jw), 4),
                      "damerau_levenshtein": int(best.dl), "words_subset": bool(best.subset)}
            links.append({"left_record_key": left, "right_record_key": right, "decided_by": "rule:product_name_fuzzy",
                          "match_probability": float(best.score), "match_weight": None,
                          "comparison_detail": json.dumps(detail, sort_keys=True)})
            continue
        # not sure enough (or two equally good products): a human decides, nothing is merged
        for row in (group if ambiguous else group[group["rank"] == 1]).itertuples(index=False):
            left, right = sorted((row.mention_key, row.product_key))
            review.append({"left_record_key": left, "right_record_key": right, "match_probability": float(row.score)})
    return pd.DataFrame(links), pd.DataFrame(review)
