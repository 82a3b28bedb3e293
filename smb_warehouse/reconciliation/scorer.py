"""The invoice_match_scorer: a gradient-boosted classifier over candidate (invoice, PO) pairs, and the choice of
what scores a run (a new version, the champion, or the rule-only baseline).

Score = probability that the pair is the right, safe-to-auto-match PO for the invoice. Labels: the bootstrap
weak labels plus every human review decision so far (smb_warehouse.reconciliation.features), minus the held-out
invoices the gate judges on (smb_warehouse.reconciliation.gate). A fitted version is registered in MLflow as
`invoice_match_scorer` with its training fingerprint (scorer code version, seed, holdout share, a hash of the
candidate pairs and a hash of the latest decision per invoice); a run whose fingerprint matches a registered
version reuses that version instead of fitting again, so the scorer retrains only when the data or the labels
changed. Every version's gate verdict is tagged on it (gate_status passed | refused, gate_reason); a version that
passes becomes the `champion` alias (smb_warehouse.core.registry.promote).

What serves a run (``choose_serving``): the candidate when it passes its gate; else the current champion (also
when the refused candidate is the champion itself); else no model at all: rules only (every pair scored 0, so only
rule matches auto-match). The choice is reported in a ``Serving`` that the asset writes beside every score.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from importlib.metadata import version as _version

import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score
from threadpoolctl import threadpool_limits

from smb_warehouse.reconciliation.config import GateConfig, MatchRules
from smb_warehouse.reconciliation.features import FEATURES, matrix, training_set
from smb_warehouse.reconciliation.gate import GateResult, holdout_mask, judge

MODEL_NAME = "invoice_match_scorer"
EXPERIMENT = "ap_reconciliation"
SCORER_VERSION = "2"   # bump when features, labels or the estimator change: changes every training fingerprint
BASELINE = "baseline:rules_only"
# HistGradientBoosting parallelises with OpenMP; on a small shared host its threads spin against every other
# process (measured on 2 busy cores: fit 25-44 s with 2 threads, 7 s with 1). One thread is also plenty here.
OPENMP_THREADS = int(os.environ.get("SMB_RECON_OPENMP_THREADS") or 1)
_TREE_PREDICTOR = "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"
# candidate columns the model and the labels read: the data fingerprint covers exactly these
_FINGERPRINT_COLUMNS = ["invoice_id", "po_number", "found_by", "po_reference", "ref_exact", "ref_edit_distance",
                        "same_supplier", "vendor_name_similarity", "same_currency", "has_receipt", "amount_ratio",
                        "quantity_ratio", "po_amount_ratio", "date_gap_days", "duplicate_signal", "rule_checks_pass",
                        "is_rule_match", "quantity_within_tolerance", "amount_within_tolerance"]
_DECISION_COLUMNS = ["invoice_id", "action", "po_number"]


@dataclass
class TrainedScorer:
    """A fitted (or reused) scorer; ``model`` None = nothing was learnt (no labels)."""

    model: HistGradientBoostingClassifier | None
    version: str                      # registered version, or "untrained"
    metrics: dict[str, float] = field(default_factory=dict)
    reused: bool = False

    def score(self, candidates: pd.DataFrame) -> np.ndarray:
        """Match probability per candidate row (float array in [0, 1]; zeros without a model)."""
        if candidates.empty:
            return np.zeros(0)
        if self.model is None:  # nothing to learn from (no rule matches, no decisions): never auto-match
            return np.zeros(len(candidates))
        with threadpool_limits(limits=OPENMP_THREADS, user_api="openmp"):
            return self.model.predict_proba(matrix(candidates))[:, 1]


def _hash_frame(frame: pd.DataFrame, keys: list[str]) -> str:
    ordered = frame.sort_values(keys, kind="stable").reset_index(drop=True) if len(frame) else frame
    digest = hashlib.sha256(",".join(map(str, ordered.columns)).encode())
    if len(ordered):
        digest.update(pd.util.hash_pandas_object(ordered, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def fingerprints(candidates: pd.DataFrame, decisions: pd.DataFrame, seed: int, holdout_share: float) -> dict[str, str]:
    """data (the candidate pairs' columns the scorer reads), labels (the latest decision per invoice) and training
    (both + scorer code version, seed and holdout share): 16-hex-digit sha256 prefixes."""
    data = _hash_frame(candidates[[c for c in _FINGERPRINT_COLUMNS if c in candidates.columns]], ["invoice_id", "po_number"])
    latest = decisions.groupby("invoice_id").tail(1) if len(decisions) else decisions
    labels = _hash_frame(latest[[c for c in _DECISION_COLUMNS if c in latest.columns]], ["invoice_id"])
    training = hashlib.sha256(f"{SCORER_VERSION}|{seed}|{holdout_share}|{data}|{labels}".encode()).hexdigest()[:16]
    return {"data_fingerprint": data, "labels_fingerprint": labels, "training_fingerprint": training}


def labelled_split(candidates: pd.DataFrame, decisions: pd.DataFrame, seed: int = 0,
                   holdout_share: float = 0.2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, held-out) labelled pairs (training_set rows: candidate columns + variant, label, weight), split by
    invoice with gate.holdout_mask."""
    labelled = training_set(candidates, decisions, seed=seed)
    if labelled.empty:
        return labelled, labelled
    held = holdout_mask(labelled["invoice_id"], holdout_share)
    return labelled[~held].reset_index(drop=True), labelled[held].reset_index(drop=True)


def fit_labelled(labelled: pd.DataFrame, seed: int = 0) -> tuple[HistGradientBoostingClassifier | None, dict[str, float]]:
    """Fit on labelled pairs (``labelled_split`` rows). Returns (model or None when there are not two classes,
    training counts)."""
    counts = {"train_pairs": float(len(labelled)), "train_positives": float(labelled["label"].sum()) if len(labelled) else 0.0,
              "human_labelled_pairs": float((labelled["variant"] == "human_decision").sum()) if len(labelled) else 0.0}
    if labelled.empty or labelled["label"].nunique() < 2:
        return None, counts
    x, y, w = matrix(labelled), labelled["label"].to_numpy(), labelled["weight"].to_numpy()
    # Monotone constraints encode what must hold whatever the weak labels say: closer amounts, quantities and
    # references never make a match less likely. They also keep the model from overfitting label noise.
    monotone = {"ref_exact": 1, "ref_edit_distance": -1, "same_supplier": 1, "abs_log_amount_ratio": -1,
                "abs_log_quantity_ratio": -1, "amount_rank": -1, "duplicate_signal": -1}
    model = HistGradientBoostingClassifier(
        max_iter=150, learning_rate=0.1, max_leaf_nodes=15, l2_regularization=1.0, random_state=seed,
        monotonic_cst=[monotone.get(f, 0) for f in FEATURES],
    )
    with threadpool_limits(limits=OPENMP_THREADS, user_api="openmp"):
        model.fit(x, y, sample_weight=w)
        fitted = model.predict_proba(x)[:, 1]
    counts["train_average_precision"] = float(average_precision_score(y, fitted, sample_weight=w))
    return model, counts


def fit(candidates: pd.DataFrame, decisions: pd.DataFrame, seed: int = 0,
        holdout_share: float = 0.2) -> tuple[HistGradientBoostingClassifier | None, dict[str, float]]:
    """Fit on the training share of the labels (the held-out invoices stay out)."""
    train, _ = labelled_split(candidates, decisions, seed=seed, holdout_share=holdout_share)
    return fit_labelled(train, seed=seed)


def profile(candidates: pd.DataFrame) -> dict[str, float]:
    """What the scorer is applied to, per invoice with candidates: share with a rule match and share quoting no
    reference. Tagged on every version; the drift guard compares a run's profile with the serving version's."""
    if candidates.empty:
        return {"profile_invoices": 0.0, "profile_rule_match_share": 0.0, "profile_ref_missing_share": 0.0}
    per_invoice = candidates.groupby("invoice_id").agg(rule=("is_rule_match", "any"), missing=("ref_missing", "all"))
    return {"profile_invoices": float(len(per_invoice)), "profile_rule_match_share": float(per_invoice["rule"].mean()),
            "profile_ref_missing_share": float(per_invoice["missing"].mean())}


def _client():
    from smb_warehouse.core import tracking

    return tracking.configure()


def find_version(training_fingerprint: str) -> str | None:
    """The newest registered version trained with this fingerprint (None when there is none)."""
    from mlflow.exceptions import MlflowException

    try:
        found = _client().search_model_versions(
            f"name = '{MODEL_NAME}' and tags.training_fingerprint = '{training_fingerprint}'")
    except MlflowException:
        return None
    return str(max(int(v.version) for v in found)) if found else None


def load_version(version: str) -> HistGradientBoostingClassifier:
    """A registered version's model, from the MLflow registry (never from a file path)."""
    _client()
    import mlflow.sklearn

    return mlflow.sklearn.load_model(f"models:/{MODEL_NAME}/{version}")


def register(model: HistGradientBoostingClassifier, metrics: dict[str, float], tags: dict[str, str], run_label: str) -> str:
    """Log params, metrics, tags and the model file to MLflow; register a new version tagged with ``tags``
    (gate_status=candidate until judged). Returns the version."""
    from smb_warehouse.core import tracking

    client = tracking.configure()
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    experiment_id = tracking.ensure_experiment(EXPERIMENT)
    import mlflow
    import mlflow.sklearn

    with mlflow.start_run(experiment_id=experiment_id, run_name=f"{MODEL_NAME}-{run_label}"):
        mlflow.log_params({"features": ",".join(FEATURES), "estimator": "HistGradientBoostingClassifier",
                           "labels": "bootstrap rule matches + reference augmentations + human review decisions",
                           "pipeline_run": run_label, "scorer_version": SCORER_VERSION})
        mlflow.log_metrics(metrics)
        mlflow.set_tags(tags)
        info = mlflow.sklearn.log_model(
            model, name="model", registered_model_name=MODEL_NAME,
            # skops refuses HistGradientBoosting's tree nodes unless told the type is trusted: we wrote the file.
            skops_trusted_types=[_TREE_PREDICTOR],
            # explicit requirements: inferring them would reload the model in a subprocess (slow, nothing gained)
            pip_requirements=[f"scikit-learn=={sklearn.__version__}", f"skops=={_version('skops')}"],
        )
    version = str(info.registered_model_version)
    for key, value in {**tags, "gate_status": "candidate"}.items():
        client.set_model_version_tag(MODEL_NAME, version, key, value)
    return version


def train_or_reuse(candidates: pd.DataFrame, decisions: pd.DataFrame, run_label: str, seed: int = 0,
                   holdout_share: float = 0.2) -> tuple[TrainedScorer, pd.DataFrame]:
    """(the candidate scorer, the held-out labelled pairs). Reuses the registered version with the same training
    fingerprint when there is one (no fit); else fits on the training share and registers a new version."""
    prints = fingerprints(candidates, decisions, seed, holdout_share)
    train, heldout = labelled_split(candidates, decisions, seed=seed, holdout_share=holdout_share)
    existing = find_version(prints["training_fingerprint"])
    if existing is not None:
        return TrainedScorer(load_version(existing), existing, {"train_pairs": float(len(train))}, reused=True), heldout
    model, metrics = fit_labelled(train, seed=seed)
    if model is None:
        return TrainedScorer(None, "untrained", metrics), heldout
    figures = profile(candidates)
    tags = {**prints, **{k: f"{v:.6f}" for k, v in figures.items()}}
    version = register(model, {**metrics, **figures}, tags, run_label)
    return TrainedScorer(model, version, {**metrics, **figures}), heldout


@dataclass
class Serving:
    """What scores this run and why. ``scorer`` None = rules only (every pair scored 0)."""

    scorer: TrainedScorer | None
    label: str                 # "invoice_match_scorer v5" | "baseline:rules_only"
    model_version: str         # "5" | "rules_only"
    is_fallback: bool          # the candidate was refused (champion or baseline serves)
    gate: GateResult
    candidate: TrainedScorer
    # the held-out labelled pairs the gate judged on (labelled_split rows: candidate columns + variant, label,
    # weight); empty without labels. Monitoring reports the serving scorer's quality on them.
    heldout: pd.DataFrame = field(default_factory=pd.DataFrame)

    def score(self, candidates: pd.DataFrame) -> np.ndarray:
        return self.scorer.score(candidates) if self.scorer is not None else np.zeros(len(candidates))

    @property
    def detail(self) -> str:
        what = "reused" if self.candidate.reused else "new"
        return f"candidate v{self.candidate.version} ({what}): {self.gate.reason}"


def choose_serving(candidates: pd.DataFrame, decisions: pd.DataFrame, run_label: str, rules: MatchRules,
                   gate_config: GateConfig, seed: int = 0) -> Serving:
    """Train or reuse the candidate, judge it (gate.judge) against the rule-only baseline and the champion, tag
    the verdict on the version, promote it when it passes; otherwise keep the champion, or with none the
    rule-only baseline. Never raises because a model is bad: a refused candidate is a fallback, not a failure."""
    from smb_warehouse.core import registry

    candidate, heldout = train_or_reuse(candidates, decisions, run_label, seed=seed, holdout_share=gate_config.holdout_share)
    champion_info = registry.version_info(MODEL_NAME)
    champion_version = str(champion_info.version) if champion_info is not None else None
    champion: TrainedScorer | None = None
    if champion_version is not None and champion_version != candidate.version:
        champion = TrainedScorer(load_version(champion_version), champion_version, reused=True)
    candidate_scores = candidate.score(heldout) if candidate.model is not None else None
    champion_scores = champion.score(heldout) if champion is not None else None
    gate = judge(heldout, candidate_scores, champion_scores, rules, gate_config)
    if candidate.model is not None:
        registry.set_gate_status(MODEL_NAME, candidate.version, "passed" if gate.passed else "refused", gate.reason)
    if gate.passed:
        if champion_version != candidate.version:
            registry.promote(MODEL_NAME, candidate.version)
        return Serving(candidate, f"{MODEL_NAME} v{candidate.version}", candidate.version, False, gate, candidate, heldout)
    if champion_version is not None:
        # keep the current champion; when the refused candidate is the champion itself (same data, same labels,
        # a stricter gate), it stays: the gate decides what replaces the champion, not whether one serves
        kept = champion if champion is not None else candidate
        return Serving(kept, f"{MODEL_NAME} v{champion_version}", champion_version, True, gate, candidate, heldout)
    return Serving(None, BASELINE, BASELINE.split(":", 1)[1], True, gate, candidate, heldout)
