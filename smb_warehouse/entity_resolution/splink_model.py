"""The probabilistic step: a Fellegi-Sunter model (Splink 5, DuckDB backend) over organisation records,
with every parameter estimated on the data it scores.

Method (Splink's documented workflow; Fellegi & Sunter 1969, as implemented and explained in the Splink
docs, https://moj-analytical-services.github.io/splink/):

1. Comparisons for every matching field the records carry (a field empty everywhere, or with one value
   everywhere, is left out and logged): name (exact with term-frequency adjustment, same words, one name's
   words inside the other's, Jaro-Winkler bands), street, city, postal code (exact with term frequencies,
   typo bands), country, VAT id (exact, one or two edits: a typo is evidence, not a veto), e-mail and
   company domain (one comparison: same address, else same domain with term frequencies, so a mailbox
   provider many companies share weighs little), phone.
2. Candidate pairs from blocking rules on each strong field separately (first and last name word, VAT,
   postal code, street, e-mail, domain, phone), so one corrupted field cannot hide a pair. Key values held
   by more than ``max_block_size`` records generate no pairs through that rule (another rule still does).
3. u by random sampling; lambda (the probability that two random records match) from deterministic rules
   with an assumed recall, else from EM, else a stated default; m by EM in sessions blocked on different
   fields, each estimating the comparisons it does not block on.
4. ``predict`` scores every candidate pair; the thresholds are then chosen from those weights
   (``thresholds.choose``).

One model for customer and supplier organisations together (pairs never cross entity types: every
blocking rule includes entity_type): both are companies described by the same fields, and a supplier
master alone is far too small to estimate anything from.

Runs on its own in-memory DuckDB so Splink's intermediate tables never land in the warehouse.
Deterministic: input sorted, u sampled with a fixed seed, EM deterministic given its input.
"""
from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field

import duckdb
import pandas as pd
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

log = logging.getLogger(__name__)

OUTPUT_COLUMNS = ["entity_type", "record_key_l", "record_key_r", "match_probability", "match_weight",
                  "comparison_detail"]
# Input columns the model can use, in comparison order. name_core is required (no name, no model).
MATCH_COLUMNS = ["name_core", "street", "city", "postal_code", "country_code", "vat_core", "email", "company_domain",
                 "phone_e164"]
# The input columns each comparison reads (its output name -> columns).
COMPARISON_INPUTS = {"name": ["name_core"], "street": ["street"], "locality": ["postal_code", "city"],
                     "country_code": ["country_code"], "vat": ["vat_core"], "email_domain": ["email", "company_domain"],
                     "phone": ["phone_e164"]}
# Blocking keys: derived name words and the strong fields themselves.
BLOCKING_KEYS = ["name_first", "name_last", "vat_core", "postal_code", "street", "email", "company_domain", "phone_e164"]


@dataclass(frozen=True)
class SplinkConfig:
    """Knobs of the model; none of them is a match threshold (those come from the data, see thresholds.py)."""

    seed: int = 42
    u_max_pairs: float = 3e5
    max_block_size: int = 100       # a key value held by more records generates no pairs through its rule
    deterministic_recall: float = 0.6  # assumed recall of the lambda rules (Splink's documented method)
    min_em_pairs: int = 10          # an EM session with fewer blocked pairs is skipped (logged)
    score_floor_weight: float = -8.0  # pairs below this match weight are not returned (p < ~0.004 at lambda 0.5)


@dataclass
class ModelResult:
    """What one training + scoring produced.

    scored: OUTPUT_COLUMNS, one row per scored candidate pair (record_key_l < record_key_r).
    parameters: {"lambda": float, "lambda_source": str, "comparisons": {name: [{"level", "m", "u",
    "weight"}]}, "em_sessions": [...], "columns": [...]} -- what was estimated, for logs and reports.
    notes: human-readable log lines of everything skipped or defaulted.
    """

    scored: pd.DataFrame
    parameters: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _name_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name_core"),
            cll.ExactMatchLevel("name_core").configure(tf_adjustment_column="name_core"),
            cll.CustomLevel("name_sorted_l = name_sorted_r", label_for_charts="Same words, other order"),
            cll.JaroWinklerLevel("name_core", 0.94),
            cll.ArraySubsetLevel("name_tokens"),
            cll.JaroWinklerLevel("name_core", 0.85),
            cll.JaroWinklerLevel("name_core", 0.7),
            cll.ElseLevel(),
        ],
    ).configure(m_probabilities=[0.55, 0.05, 0.15, 0.1, 0.08, 0.04, 0.03])


def _contact_comparison(has_email: bool, has_domain: bool) -> cl.CustomComparison:
    """E-mail and company domain as one comparison: the same address implies the same domain, and two
    comparisons would count that twice."""
    levels: list = []
    if has_email and has_domain:
        levels.append(cll.CustomLevel(
            "(email_l IS NULL OR email_r IS NULL) AND (company_domain_l IS NULL OR company_domain_r IS NULL)",
            label_for_charts="email and domain missing").configure(is_null_level=True))
        levels.append(cll.ExactMatchLevel("email"))
        levels.append(cll.ExactMatchLevel("company_domain").configure(tf_adjustment_column="company_domain"))
        m = [0.5, 0.4, 0.1]
    elif has_email:
        levels += [cll.NullLevel("email"), cll.ExactMatchLevel("email")]
        m = [0.8, 0.2]
    else:
        levels += [cll.NullLevel("company_domain"),
                   cll.ExactMatchLevel("company_domain").configure(tf_adjustment_column="company_domain")]
        m = [0.8, 0.2]
    levels.append(cll.ElseLevel())
    return cl.CustomComparison(output_column_name="email_domain", comparison_levels=levels).configure(m_probabilities=m)


def _locality_comparison(has_postal: bool, has_city: bool) -> cl.CustomComparison:
    """Postal code and city as one comparison: in most countries one implies the other, and two
    comparisons would count the same agreement twice (two firms on one street of one town are not one)."""
    if has_postal and has_city:
        levels = [
            cll.CustomLevel("(postal_code_l IS NULL OR postal_code_r IS NULL) AND (city_l IS NULL OR city_r IS NULL)",
                            label_for_charts="postal code and city missing").configure(is_null_level=True),
            cll.CustomLevel("postal_code_l = postal_code_r AND city_l = city_r", label_for_charts="Same postal code and city"),
            cll.ExactMatchLevel("postal_code").configure(tf_adjustment_column="postal_code"),
            cll.ExactMatchLevel("city").configure(tf_adjustment_column="city"),
            cll.CustomLevel("damerau_levenshtein(postal_code_l, postal_code_r) <= 1 "
                            "OR jaro_winkler_similarity(city_l, city_r) >= 0.9",
                            label_for_charts="Postal code one edit apart or city similar"),
            cll.ElseLevel(),
        ]
        m = [0.75, 0.08, 0.08, 0.05, 0.04]
    else:
        column = "postal_code" if has_postal else "city"
        levels = [cll.NullLevel(column), cll.ExactMatchLevel(column).configure(tf_adjustment_column=column),
                  cll.JaroWinklerLevel(column, 0.9), cll.ElseLevel()]
        m = [0.85, 0.1, 0.05]
    return cl.CustomComparison(output_column_name="locality", comparison_levels=levels).configure(m_probabilities=m)


def _comparisons(columns: list[str]) -> list:
    """Comparisons for the usable columns; m priors are EM's starting point and the model wherever EM
    cannot estimate a level (the u side always comes from random sampling)."""
    out = [_name_comparison()]
    if "street" in columns:
        out.append(cl.CustomComparison(output_column_name="street", comparison_levels=[
            cll.NullLevel("street"), cll.ExactMatchLevel("street").configure(tf_adjustment_column="street"),
            cll.CustomLevel("house_number_l = house_number_r AND damerau_levenshtein(street_name_l, street_name_r) <= 1",
                            label_for_charts="Same number, street name one edit apart"),
            cll.CustomLevel("street_name_l = street_name_r", label_for_charts="Same street name, number differs or missing"),
            cll.JaroWinklerLevel("street", 0.88), cll.ElseLevel(),
        ]).configure(m_probabilities=[0.7, 0.1, 0.08, 0.07, 0.05]))
    if "postal_code" in columns or "city" in columns:
        out.append(_locality_comparison("postal_code" in columns, "city" in columns))
    if "country_code" in columns:
        out.append(cl.ExactMatch("country_code").configure(m_probabilities=[0.97, 0.03]))
    if "vat_core" in columns:
        out.append(cl.CustomComparison(output_column_name="vat", comparison_levels=[
            cll.NullLevel("vat_core"), cll.ExactMatchLevel("vat_core"),
            cll.DamerauLevenshteinLevel("vat_core", 1), cll.DamerauLevenshteinLevel("vat_core", 2), cll.ElseLevel(),
        ]).configure(m_probabilities=[0.85, 0.08, 0.03, 0.04]))
    if "email" in columns or "company_domain" in columns:
        out.append(_contact_comparison("email" in columns, "company_domain" in columns))
    if "phone_e164" in columns:
        out.append(cl.CustomComparison(output_column_name="phone", comparison_levels=[
            cll.NullLevel("phone_e164"), cll.ExactMatchLevel("phone_e164"), cll.ElseLevel(),
        ]).configure(m_probabilities=[0.8, 0.2]))
    return out


def _blocking_rules(keys: list[str]) -> list:
    return [block_on("entity_type", f"blk_{k}") for k in keys]


def _settings(columns: list[str], keys: list[str]) -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_key",
        comparisons=_comparisons(columns),
        blocking_rules_to_generate_predictions=_blocking_rules(keys),
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,
        max_iterations=50,
    )


def usable_columns(records: pd.DataFrame, notes: list[str] | None = None) -> list[str]:
    """MATCH_COLUMNS present with at least two distinct values among ``records`` (a column empty everywhere,
    or constant, carries no evidence); each one left out is noted."""
    out = []
    for column in MATCH_COLUMNS:
        if column not in records:
            continue
        distinct = records[column].dropna().nunique()
        if distinct >= 2:
            out.append(column)
        elif notes is not None:
            notes.append(f"field {column} left out of the model: "
                         + ("empty in every record" if distinct == 0 else "the same value in every record"))
    return out


_PREPARE_SQL = """
SELECT entity_type, record_key, {columns},
       string_split(name_core, ' ') AS name_tokens,
       array_to_string(list_sort(string_split(name_core, ' ')), ' ') AS name_sorted,
       split_part(name_core, ' ', 1) AS name_first,
       string_split(name_core, ' ')[-1] AS name_last{street}
FROM records WHERE name_core IS NOT NULL ORDER BY record_key
"""


def prepare(con: duckdb.DuckDBPyConnection, records: pd.DataFrame, columns: list[str], max_block_size: int) -> list[str]:
    """Creates table ``model_input`` in ``con``: the usable columns, name words/sorted name, and one
    ``blk_<key>`` per blocking key (NULL where the key value is held by more than max_block_size records of
    its entity type). Returns the blocking keys that have any non-NULL value."""
    con.register("records", records[["entity_type", "record_key", *columns]])
    street = (",\n       nullif(trim(regexp_replace(street, '[0-9]+', ' ', 'g')), '') AS street_name,"
              "\n       nullif(regexp_extract(street, '[0-9]+'), '') AS house_number") if "street" in columns else ""
    con.execute("CREATE OR REPLACE TABLE model_input_base AS "
                + _PREPARE_SQL.format(columns=", ".join(columns), street=street))
    con.unregister("records")
    keys = [k for k in BLOCKING_KEYS if k in {*columns, "name_first", "name_last"}]
    capped = ", ".join(
        f"CASE WHEN count(*) OVER (PARTITION BY entity_type, {k}) <= {int(max_block_size)} THEN {k} END AS blk_{k}"
        for k in keys)
    con.execute(f"CREATE OR REPLACE TABLE model_input AS SELECT *, {capped} FROM model_input_base ORDER BY record_key")
    present = con.execute("SELECT " + ", ".join(f"count(blk_{k})" for k in keys) + " FROM model_input").fetchone()
    return [k for k, n in zip(keys, present) if n]


def _lambda_rules(columns: list[str]) -> list:
    """Deterministic rules that admit (almost) only true matches: the whole name plus one more agreeing
    field, or an identical e-mail / VAT id with the first name word."""
    rules = [block_on("entity_type", "name_core", c) for c in ("postal_code", "street", "vat_core", "phone_e164", "email",
                                                              "company_domain", "city") if c in columns]
    rules += [block_on("entity_type", c, "name_first") for c in ("vat_core", "email") if c in columns]
    return rules


def _estimate_lambda(linker: Linker, columns: list[str], config: SplinkConfig, notes: list[str]) -> tuple[float, str]:
    """lambda from deterministic rules (Splink's estimate_probability_two_random_records_match); (nan,
    "none") when the rules find no pair at all (all-unique names with nothing else to agree on) -- the
    case that made log(0) crash the run before."""
    rules = _lambda_rules(columns)
    if rules:
        try:
            linker.training.estimate_probability_two_random_records_match(rules, recall=config.deterministic_recall)
            value = linker.misc.save_model_to_json()["probability_two_random_records_match"]
            if 0 < value < 1:
                return value, "deterministic_rules"
            notes.append(f"lambda: deterministic rules found {'no' if value <= 0 else 'only'} matching pairs")
        except ValueError as exc:
            notes.append(f"lambda: deterministic rules unusable ({exc})")
    return float("nan"), "none"


def _fill_unobserved_u(model: dict, sampled_pairs: float, notes: list[str]) -> dict:
    """A level no randomly sampled pair showed gets u = 1 / (pairs sampled): rarer than once in the sample.
    (Left empty, Splink would give such a level no weight at all and drop every pair in it from the scores.)"""
    floor = 1.0 / max(sampled_pairs, 1.0)
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if not level.get("is_null_level") and not isinstance(level.get("u_probability"), (int, float)):
                level["u_probability"] = floor
                notes.append(f"u of '{level.get('label_for_charts')}' ({comparison['output_column_name']}): not seen in "
                             f"{sampled_pairs:,.0f} random pairs, set to {floor:.2g}")
    return model


def _lambda_by_type(con: duckdb.DuckDBPyConnection, db_api: DuckDBAPI, model: dict, columns: list[str], overall: float,
                    config: SplinkConfig, notes: list[str]) -> dict[str, float]:
    """lambda per entity type (pairs never cross types, and a small supplier master has a far higher share of
    matching pairs than the customer base): the same deterministic rules within each type; a type whose
    rules find nothing keeps the overall value."""
    types = [t for (t,) in con.execute("SELECT DISTINCT entity_type FROM model_input ORDER BY 1").fetchall()]
    if len(types) < 2:
        return dict.fromkeys(types, overall)
    out = {}
    for i, entity_type in enumerate(types):
        con.execute(f"CREATE OR REPLACE TABLE model_input_type_{i} AS SELECT * FROM model_input WHERE entity_type = ?",
                    [entity_type])
        linker = Linker(db_api.register(f"model_input_type_{i}", table_name=f"er_lambda_{i}"), model, log_level=logging.ERROR)
        quiet: list[str] = []
        value, _source = _estimate_lambda(linker, columns, config, quiet)
        out[entity_type] = value if 0 < value < 1 else overall
        if not 0 < value < 1:
            notes.append(f"lambda for {entity_type}: no deterministic pair; the overall {overall:.3g} is used")
    return out


def _em_sessions(columns: list[str], keys: list[str]) -> list[tuple[str, object]]:
    """EM blocking rules: the whole name (estimates every other comparison), then the strongest non-name
    field present (estimates the name comparison and the rest again)."""
    sessions = [("name_core", block_on("entity_type", "name_core"))]
    for key in ("vat_core", "email", "phone_e164", "postal_code", "street", "company_domain"):
        if key in columns and key in keys:
            sessions.append((key, block_on("entity_type", key)))
            break
    return sessions


def _blocked_comparison(key: str) -> str:
    return next(name for name, inputs in COMPARISON_INPUTS.items() if key in inputs)


def _m_values(model: dict) -> dict[tuple[str, int], float | str | None]:
    return {(c["output_column_name"], i): lv.get("m_probability")
            for c in model["comparisons"] for i, lv in enumerate(c["comparison_levels"]) if not lv.get("is_null_level")}


def _set_m(model: dict, values: dict[tuple[str, int], float | str | None]) -> dict:
    model = json.loads(json.dumps(model))
    for c in model["comparisons"]:
        for i, level in enumerate(c["comparison_levels"]):
            if (c["output_column_name"], i) in values:
                level["m_probability"] = values[(c["output_column_name"], i)]
    return model


def _em_in_rounds(db_api: DuckDBAPI, model: dict, name: str, rule, notes: list[str],
                  counter: list[int]) -> tuple[dict[tuple[str, int], float | None], int]:
    """One EM session: EM_ITERATIONS_PER_ROUND iterations at a time with m floored at M_FLOOR between
    rounds, until no m moves by more than EM_TOLERANCE (or EM_MAX_ROUNDS).

    Splink's EM drives the m of a level that (almost) no true match shows to exactly 0.0 on clean data and
    then refuses the value; the floor is where the model stops trusting such a level, and the rounds keep
    EM from reaching the underflow. Returns ({(comparison, level index): m, or None when no blocked pair
    showed the level} for the comparisons the session estimates, iterations run)."""
    blocked = _blocked_comparison(name)
    estimated = {k for k in _m_values(model) if k[0] != blocked}
    current = {k: v for k, v in _m_values(model).items() if k in estimated}
    unobserved: set[tuple[str, int]] = set()
    iterations, per_round = 0, EM_ITERATIONS_PER_ROUND
    for _ in range(EM_MAX_ROUNDS):
        counter[0] += 1
        start = _set_m(model, current)
        start["max_iterations"] = per_round
        linker = Linker(db_api.register("model_input", table_name=f"er_em_{counter[0]}"), start, log_level=logging.ERROR)
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(rule, record_sample_proportion=1.0)
        except ValueError as exc:
            if per_round > 1:
                per_round = 1
                continue
            notes.append(f"EM session blocked on {name} stopped after {iterations} iterations: {exc}")
            break
        iterations += per_round
        trained = _m_values(linker.misc.save_model_to_json())
        # a level no blocked pair showed comes back untouched (Splink keeps its starting value)
        unobserved = {k for k in estimated if not isinstance(trained.get(k), (int, float)) or trained[k] == current[k]}
        new = {k: max(float(trained[k]), M_FLOOR) if k not in unobserved else current[k] for k in estimated}
        change = max((abs(new[k] - current[k]) for k in estimated
                      if isinstance(new[k], (int, float)) and isinstance(current[k], (int, float))), default=0.0)
        current = new
        if change < EM_TOLERANCE:
            break
    return {k: (None if k in unobserved else v) for k, v in current.items()}, iterations


def _train(db_api: DuckDBAPI, model: dict, columns: list[str], keys: list[str], n_pairs: dict[str, int],
           config: SplinkConfig, notes: list[str]) -> tuple[dict, list[dict]]:
    """m by EM sessions that each start from the priors; a level's m is the mean over the sessions that
    estimated and observed it (as Splink combines sessions), else its prior: a level no blocked pair showed
    (a name variant among pairs that share a VAT id, say) is not evidence that true matches never show it --
    the EM blocks see only the matches their key finds. Sessions with too few blocked pairs are skipped and
    noted."""
    done, counter, results = [], [0], []
    for name, rule in _em_sessions(columns, keys):
        pairs = n_pairs.get(name, 0)
        if pairs < config.min_em_pairs:
            notes.append(f"EM session blocked on {name} skipped: {pairs} candidate pairs (< {config.min_em_pairs})")
            continue
        values, iterations = _em_in_rounds(db_api, model, name, rule, notes, counter)
        results.append(values)
        done.append({"blocked_on": name, "pairs": pairs, "iterations": iterations})
    combined: dict[tuple[str, int], float | str | None] = {}
    for key in _m_values(model):
        seen = [r[key] for r in results if key in r]
        observed = [v for v in seen if v is not None]
        if observed:
            combined[key] = sum(observed) / len(observed)
    return _set_m(model, combined), done


def _pair_counts(con: duckdb.DuckDBPyConnection, keys: list[str]) -> dict[str, int]:
    """Candidate pairs per EM blocking key (name_core uncapped, as its EM session uses it)."""
    out = {}
    for key, column in [("name_core", "name_core"), *[(k, f"blk_{k}") for k in keys]]:
        out[key] = int(con.execute(
            f"SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM (SELECT count(*) AS n FROM model_input "
            f"WHERE {column} IS NOT NULL GROUP BY entity_type, {column})").fetchone()[0])
    return out


def _parameters(model: dict) -> dict:
    comparisons = {}
    for comparison in model["comparisons"]:
        levels = []
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            m, u = level.get("m_probability"), level.get("u_probability")
            weight = math.log2(m / u) if m and u else None
            levels.append({"level": level.get("label_for_charts", level["sql_condition"]), "m": m, "u": u, "weight": weight})
        comparisons[comparison["output_column_name"]] = levels
    return {"lambda": model["probability_two_random_records_match"], "comparisons": comparisons}


M_FLOOR = 0.005  # EM on clean data drives m of "disagree" levels to ~0, i.e. an infinite penalty; cap it
EM_ITERATIONS_PER_ROUND = 3
EM_MAX_ROUNDS = 12
EM_TOLERANCE = 1e-3


def _floor_m(model: dict) -> dict:
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if isinstance(level.get("m_probability"), (int, float)) and level["m_probability"] < M_FLOOR:
                level["m_probability"] = M_FLOOR
    return model


def _logit2(p: float) -> float:
    return math.log2(p / (1 - p))


def _detail_sql(table: str, model: dict, columns: list[str], shift: dict[str, float]) -> str:
    """Per pair: match weight and probability with the prior of its entity type (``shift``: bits to add
    per entity type), and JSON {comparison: {"level": label, "weight": partial match weight in bits
    (term-frequency adjustment included), "left": value, "right": value}}."""
    parts = []
    for comparison in model["comparisons"]:
        name = comparison["output_column_name"]
        non_null = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        cases = " ".join(f"WHEN {len(non_null) - 1 - i} THEN '{lv.get('label_for_charts', '').replace(chr(39), '')}'"
                         for i, lv in enumerate(non_null))
        inputs = [c for c in COMPARISON_INPUTS.get(name, [name]) if c in columns]
        left = ", ".join(f"{c}_l" for c in inputs)
        right = ", ".join(f"{c}_r" for c in inputs)
        values = (f", 'left', nullif(concat_ws(' | ', {left}), ''), 'right', nullif(concat_ws(' | ', {right}), '')"
                  if inputs else "")
        tf = f" + coalesce(mw_tf_adj_{name}, 0)" if f"mw_tf_adj_{name}" in model.get("_tf_columns", ()) else ""
        parts.append(f"'{name}', json_object('level', CASE gamma_{name} WHEN -1 THEN 'missing' {cases} END, "
                     f"'weight', round(mw_{name}{tf}, 2){values})")
    cases = " ".join(f"WHEN '{t}' THEN {float(v)!r}" for t, v in shift.items() if "'" not in t)
    weight = f"match_weight + CASE entity_type_l {cases} ELSE 0.0 END" if cases else "match_weight"
    return (f"SELECT entity_type, record_key_l, record_key_r, 1.0 / (1.0 + pow(2.0, -match_weight)) AS match_probability, "
            f"match_weight, comparison_detail FROM (SELECT entity_type_l AS entity_type, "
            f"least(record_key_l, record_key_r) AS record_key_l, greatest(record_key_l, record_key_r) AS record_key_r, "
            f"{weight} AS match_weight, CAST(json_object({', '.join(parts)}) AS VARCHAR) AS comparison_detail FROM {table}) "
            f"ORDER BY record_key_l, record_key_r")


def score_pairs(records: pd.DataFrame, config: SplinkConfig = SplinkConfig()) -> ModelResult:
    """Train the model on ``records`` and score its candidate pairs.

    records: organisations of one or more entity types; columns entity_type, record_key (unique) and any of
    MATCH_COLUMNS (strings; NULL = unknown). Records without name_core are not scored.
    Returns a ModelResult (see there); ``scored`` is empty, with the reason in ``notes``, when fewer than
    two named records or no usable blocking key exist. Never raises for data reasons.
    """
    notes: list[str] = []
    named = records[records["name_core"].notna()] if "name_core" in records else records.iloc[0:0]
    if len(named) < 2:
        notes.append(f"model not run: {len(named)} organisation record(s) with a name")
        return ModelResult(pd.DataFrame(columns=OUTPUT_COLUMNS), {}, notes)
    columns = ["name_core", *[c for c in usable_columns(named, notes) if c != "name_core"]]
    con = duckdb.connect()
    try:
        keys = prepare(con, named, columns, config.max_block_size)
        n_pairs = _pair_counts(con, keys)
        db_api = DuckDBAPI(connection=con)
        linker = Linker(db_api.register("model_input", table_name="er_records"), _settings(columns, keys),
                        log_level=logging.ERROR)
        linker.training.estimate_u_using_random_sampling(max_pairs=config.u_max_pairs, seed=config.seed,
                                                         min_count_per_level=None, num_chunks=1)
        lam, source = _estimate_lambda(linker, columns, config, notes)
        model = _fill_unobserved_u(linker.misc.save_model_to_json(), min(config.u_max_pairs, len(named) * (len(named) - 1) / 2),
                                   notes)
        model, sessions = _train(db_api, model, columns, keys, n_pairs, config, notes)
        if source == "none":
            n = len(named)
            lam, source = min(0.5, 0.1 / max(n - 1, 1)), "default"
            notes.append(f"lambda: no estimate from the data; default {lam:.3g} (one expected match per 20 records)")
        model["probability_two_random_records_match"] = lam
        model = _floor_m(model)
        by_type = _lambda_by_type(con, db_api, model, columns, lam, config, notes) if source != "default" else {}
        linker = Linker(db_api.register("model_input", table_name="er_score"), model, log_level=logging.ERROR)
        predictions = linker.inference.predict(threshold_match_weight=config.score_floor_weight, warning_mode="never")
        model["_tf_columns"] = [d[0] for d in con.execute(f"SELECT * FROM {predictions.physical_name} LIMIT 0").description
                                if d[0].startswith("mw_tf_adj_")]
        shift = {t: _logit2(v) - _logit2(lam) for t, v in by_type.items()}
        scored = con.execute(_detail_sql(predictions.physical_name, model, columns, shift)).df()
    finally:
        con.close()
    parameters = _parameters(model) | {"lambda_source": source, "lambda_by_entity_type": by_type, "em_sessions": sessions,
                                       "columns": columns, "blocking_keys": keys}
    return ModelResult(scored[OUTPUT_COLUMNS], parameters, notes)


def describe(parameters: dict) -> str:
    """One line per comparison level: m, u and weight (bits) -- for logs and the benchmark report."""
    if not parameters:
        return "(no model)"
    lines = [f"lambda={parameters['lambda']:.4g} ({parameters.get('lambda_source')}); "
             f"EM sessions: {[s['blocked_on'] for s in parameters.get('em_sessions', [])]}"]
    for name, levels in parameters["comparisons"].items():
        cells = [f"{lv['level']}: m={lv['m']:.3f} u={lv['u']:.4f}" if lv["m"] is not None and lv["u"] is not None
                 else f"{lv['level']}: m={lv['m']} u={lv['u']}" for lv in levels]
        lines.append(f"  {name}: " + "; ".join(cells))
    return "\n".join(lines)


def as_json(parameters: dict) -> str:
    return json.dumps(parameters, sort_keys=True, default=str)
