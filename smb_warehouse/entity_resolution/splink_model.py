"""The probabilistic step: a Splink (DuckDB backend) model over organisation records.

One model for customer and supplier organisations together: both are companies described by the same
columns, and the supplier master alone (a few dozen rows) is far too small to estimate u and m from.
Every blocking rule includes entity_type, so a customer is never paired with a supplier.

Runs on its own in-memory DuckDB so Splink's many intermediate tables never land in the warehouse;
the input is small (one row per organisation record). Deterministic: records sorted, u sampled with a
fixed seed, EM is deterministic given its input.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import duckdb
import pandas as pd
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

log = logging.getLogger(__name__)

OUTPUT_COLUMNS = ["entity_type", "record_key_l", "record_key_r", "match_probability", "match_weight", "comparison_detail"]
MODEL_COLUMNS = ["name_core", "company_domain", "vat_core", "phone_e164", "postal_code", "country_code"]


@dataclass(frozen=True)
class SplinkConfig:
    review_threshold: float = 0.5   # pairs at or above go to the review queue ...
    merge_threshold: float = 0.95   # ... and at or above this they are merged
    seed: int = 42
    u_max_pairs: float = 2e6


def _comparisons(columns: list[str]) -> list:
    # m priors: EM's starting point, and the model itself where EM cannot estimate a level
    catalogue = {
        "name_core": cl.JaroWinklerAtThresholds("name_core", [0.96, 0.9, 0.8]).configure(m_probabilities=[0.6, 0.2, 0.1, 0.05, 0.05]),
        "company_domain": cl.ExactMatch("company_domain").configure(m_probabilities=[0.95, 0.05]),
        "vat_core": cl.ExactMatch("vat_core").configure(m_probabilities=[0.95, 0.05]),
        "phone_e164": cl.ExactMatch("phone_e164").configure(m_probabilities=[0.9, 0.1]),
        "postal_code": cl.ExactMatch("postal_code").configure(m_probabilities=[0.9, 0.1]),
        "country_code": cl.ExactMatch("country_code").configure(m_probabilities=[0.97, 0.03]),
    }
    return [catalogue[c] for c in columns]


def _settings(columns: list[str]) -> SettingsCreator:
    # Candidate pairs: any shared name word / name prefix, or a shared value of a strong column.
    blocking = [block_on("entity_type", "name_first"), block_on("entity_type", "name_prefix")]
    blocking += [block_on("entity_type", c) for c in ("postal_code", "company_domain", "phone_e164", "vat_core") if c in columns]
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_key",
        comparisons=_comparisons(columns),
        blocking_rules_to_generate_predictions=blocking,
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=True,
    )


def model_columns(records: pd.DataFrame) -> list[str]:
    """The comparison columns this entity type actually has (suppliers have no postal code)."""
    return [c for c in MODEL_COLUMNS if c in records and records[c].notna().any()]


def prepare(records: pd.DataFrame) -> pd.DataFrame:
    """Model input: the matching columns plus two blocking keys derived from the core name."""
    df = records[["entity_type", "record_key", *model_columns(records)]].copy()
    df = df.sort_values("record_key").reset_index(drop=True)
    names = df["name_core"].fillna("")
    df["name_first"] = names.str.split(" ").str[0].replace("", None)
    df["name_prefix"] = names.str.replace(" ", "", regex=False).str[:5].replace("", None)
    return df


M_FLOOR = 0.01  # EM on clean data drives m of "disagree" levels to ~0, i.e. an infinite penalty; cap it


def _u_from_cluster_representatives(db_api: DuckDBAPI, df: pd.DataFrame, columns: list[str], config: SplinkConfig) -> dict:
    """u estimated on one record per rule cluster.

    u is the agreement rate among non-matches, estimated from random pairs. With a few records per
    company, ~1% of random pairs are true matches, which inflates u of exactly the strong columns
    (name, VAT, domain). Records already linked by the rules are known matches: sampling one per
    cluster removes most of them from the sample.
    """
    reps = df.drop_duplicates("rule_cluster") if "rule_cluster" in df else df
    linker = Linker(db_api.register(reps.drop(columns=["rule_cluster"], errors="ignore"), table_name="er_u_sample"),
                    _settings(columns), log_level=logging.ERROR)
    linker.training.estimate_u_using_random_sampling(max_pairs=config.u_max_pairs, seed=config.seed, min_count_per_level=None)
    return linker.misc.save_model_to_json()


def _floor_m(model: dict) -> dict:
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("m_probability") is not None and level["m_probability"] < M_FLOOR:
                level["m_probability"] = M_FLOOR
    return model


def _trained_model(db_api: DuckDBAPI, df: pd.DataFrame, columns: list[str], config: SplinkConfig) -> dict:
    model = _u_from_cluster_representatives(db_api, df, columns, config)
    linker = Linker(db_api.register(df.drop(columns=["rule_cluster"], errors="ignore"), table_name="er_train"), model,
                    log_level=logging.ERROR)
    training = linker.training
    strong = [block_on("entity_type", c) for c in ("vat_core", "company_domain") if c in columns]
    training.estimate_probability_two_random_records_match(strong or [block_on("entity_type", "name_core")], recall=0.8)
    # Two EM sessions, each blind to the columns it blocks on, together estimate every m.
    sessions = [block_on("entity_type", "name_first")]
    sessions += [block_on("entity_type", c) for c in ("postal_code", "vat_core") if c in columns][:1]
    for rule in sessions:
        try:
            training.estimate_parameters_using_expectation_maximisation(rule, record_sample_proportion=1.0)
        except Exception as exc:  # tiny inputs: keep the priors rather than fail the run
            log.warning("Splink EM on %s skipped: %s", rule, exc)
    return _floor_m(linker.misc.save_model_to_json())


def score_pairs(records: pd.DataFrame, config: SplinkConfig = SplinkConfig()) -> pd.DataFrame:
    """Scored candidate pairs with p >= review_threshold: entity_type, record_key_l/_r, match_probability,
    match_weight, comparison_detail (JSON of gamma levels). `records` holds organisations of one or
    more entity types (column entity_type; pairs never cross types) and optionally rule_cluster (the
    cluster the deterministic rules put each record in)."""
    df = prepare(records)
    if len(df) < 3:
        return pd.DataFrame(columns=OUTPUT_COLUMNS)
    if "rule_cluster" in records:
        df["rule_cluster"] = df["record_key"].map(records.set_index("record_key")["rule_cluster"])
    columns = model_columns(records)
    con = duckdb.connect()
    try:
        db_api = DuckDBAPI(connection=con)
        model = _trained_model(db_api, df, columns, config)
        linker = Linker(db_api.register(df.drop(columns=["rule_cluster"], errors="ignore"), table_name="er_records"),
                        model, log_level=logging.ERROR)
        predictions = linker.inference.predict(threshold_match_probability=config.review_threshold).as_pandas_dataframe()
    finally:
        con.close()
    if predictions.empty:
        return pd.DataFrame(columns=OUTPUT_COLUMNS)
    gammas = [c for c in predictions.columns if c.startswith("gamma_")]
    predictions["comparison_detail"] = [
        json.dumps({g.removeprefix("gamma_"): int(v) for g, v in zip(gammas, row)}, sort_keys=True)
        for row in predictions[gammas].itertuples(index=False)
    ]
    predictions["entity_type"] = predictions["entity_type_l"]
    out = predictions[OUTPUT_COLUMNS].copy()
    # lower id on the left, as everywhere else
    swap = out["record_key_l"] > out["record_key_r"]
    out.loc[swap, ["record_key_l", "record_key_r"]] = out.loc[swap, ["record_key_r", "record_key_l"]].values
    return out.sort_values(["record_key_l", "record_key_r"]).reset_index(drop=True)
