"""Support-ticket triage: category + priority classifiers (TF-IDF + logistic regression), routing, and
top-3 knowledge-base retrieval (TF-IDF cosine). Everything runs locally; no hosted model.

Training data is the desk's own labels (tickets an agent categorised). A deterministic 20% of those
is held out (hash of the ticket id) so accuracy against labelled history is measured on tickets the
model never saw. The simulator's true labels are never read here.

The gate (``judge``): on those held-out tickets the category classifier must beat the majority baseline
(always the most common training category) by ``TriageConfig.gate_margin``, the priority classifier its own
majority baseline by ``priority_gate_margin``, and the category classifier must not be less accurate than
the current champion on the same tickets. smb_warehouse.triage.workflow serves the champion, or with none the
all-to-a-person baseline, when a candidate fails.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

TEAMS = {  # routing: which queue owns a category
    "defect": "product_support", "delivery": "logistics", "billing": "finance_desk",
    "how_to": "customer_success", "return": "returns_desk", "other": "service_desk",
}
HUMAN_REVIEW = "human_review"


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


@dataclass(frozen=True)
class TriageConfig:
    """Environment settings (defaults in brackets):

    SMB_TRIAGE_MIN_CONFIDENCE / _MIN_PRIORITY_CONFIDENCE   below these class probabilities a person triages (0.6 / 0.4)
    SMB_TRIAGE_GATE_MARGIN            held-out category accuracy must beat the majority baseline by this (0.05)
    SMB_TRIAGE_PRIORITY_GATE_MARGIN   held-out priority accuracy vs its majority baseline (0.0: not worse)
    SMB_TRIAGE_GATE_MIN_HELDOUT       fewer held-out desk-labelled tickets than this: no verdict, the gate fails (10)
    SMB_TRIAGE_MAX_QUARANTINE_SHARE   breaker, input contract: share of support/tickets rows quarantined in the
                                      latest load above this (0.05)
    SMB_TRIAGE_MAX_DRIFT              breaker, drift: |share auto-triaged now - when the champion was trained| (0.25)
    SMB_TRIAGE_MIN_AUTO_ACCURACY      breaker, live KPI: held-out accuracy of the auto-triaged tickets against the
                                      desk's category below this (0.7) ...
    SMB_TRIAGE_MIN_AUTO_TICKETS       ... judged from this many such tickets (10)
    """

    # below this class probability a person triages the ticket (env SMB_TRIAGE_MIN_CONFIDENCE)
    min_category_confidence: float = field(default_factory=lambda: _env_float("SMB_TRIAGE_MIN_CONFIDENCE", 0.6))
    min_priority_confidence: float = field(default_factory=lambda: _env_float("SMB_TRIAGE_MIN_PRIORITY_CONFIDENCE", 0.4))
    holdout_share: float = 0.2
    c: float = 5.0
    # a term (word or word pair) must occur in this many training tickets to be a feature (see text_classifier)
    min_term_tickets: int = 2
    kb_top_k: int = 3
    kb_category_boost: float = 0.1  # articles of the predicted category first among near-ties
    gate_margin: float = field(default_factory=lambda: _env_float("SMB_TRIAGE_GATE_MARGIN", 0.05))
    priority_gate_margin: float = field(default_factory=lambda: _env_float("SMB_TRIAGE_PRIORITY_GATE_MARGIN", 0.0))
    gate_min_heldout: int = field(default_factory=lambda: int(_env_float("SMB_TRIAGE_GATE_MIN_HELDOUT", 10)))
    max_quarantine_share: float = field(default_factory=lambda: _env_float("SMB_TRIAGE_MAX_QUARANTINE_SHARE", 0.05))
    max_drift: float = field(default_factory=lambda: _env_float("SMB_TRIAGE_MAX_DRIFT", 0.25))
    min_auto_accuracy: float = field(default_factory=lambda: _env_float("SMB_TRIAGE_MIN_AUTO_ACCURACY", 0.7))
    min_auto_tickets: int = field(default_factory=lambda: int(_env_float("SMB_TRIAGE_MIN_AUTO_TICKETS", 10)))


def holdout_mask(ticket_ids: pd.Series, share: float) -> np.ndarray:
    """Deterministic: the same ticket is always train or always holdout, across runs and machines."""
    buckets = [int(hashlib.sha256(t.encode()).hexdigest()[:8], 16) % 1000 for t in ticket_ids]
    return np.array(buckets) < share * 1000


def text_classifier(c: float, min_term_tickets: int = 2) -> Pipeline:
    """TF-IDF of words and word pairs, then a class-balanced logistic regression (scikit-learn).

    ``min_term_tickets`` is TfidfVectorizer's ``min_df``: a term found in fewer training tickets is not a feature.
    Terms of one ticket (order numbers such as "SO-5083394", typos) cannot generalise to another ticket, and with
    them the vocabulary grew with the ticket count: at simulator scale 500 (1.68M tickets) the triage step took
    951 s against 20 s at scale 20 (25x the tickets, 48x the time); with 2 it took 276 s. On the scale-1 desk, 2
    instead of 1 cut the vocabulary from 4,441 to 1,289 terms and the fit from 1.3 to 0.1 s with the same held-out
    accuracy."""
    return Pipeline([
        ("tfidf", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=min_term_tickets, lowercase=True)),
        ("clf", LogisticRegression(C=c, max_iter=2000, class_weight="balanced")),
    ])


@dataclass
class TriageResult:
    predictions: pd.DataFrame
    kb_suggestions: pd.DataFrame
    category_model: Pipeline | None
    priority_model: Pipeline | None
    metrics: dict[str, float]


def _fit(texts: pd.Series, labels: pd.Series, train: np.ndarray, config: TriageConfig) -> Pipeline | None:
    """The fitted pipeline, or None with fewer than two classes among the training tickets. A desk so small that
    no term reaches ``config.min_term_tickets`` tickets is fitted with every term instead (scikit-learn raises
    "After pruning, no terms remain" otherwise)."""
    if train.sum() == 0 or labels[train].nunique() < 2:
        return None
    try:
        return text_classifier(config.c, config.min_term_tickets).fit(texts[train], labels[train])
    except ValueError as e:
        if "no terms remain" not in str(e) or config.min_term_tickets <= 1:
            raise
        return text_classifier(config.c, 1).fit(texts[train], labels[train])


def _predict(model: Pipeline | None, texts: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if model is None:
        return pd.Series([None] * len(texts), index=texts.index, dtype=object), np.zeros(len(texts))
    proba = model.predict_proba(texts)
    return pd.Series(model.classes_[proba.argmax(axis=1)], index=texts.index), proba.max(axis=1)


def fit_models(tickets: pd.DataFrame, config: TriageConfig) -> tuple[Pipeline | None, Pipeline | None]:
    """(category model, priority model) fitted on the desk-labelled training tickets (None: fewer than two classes)."""
    tickets = tickets.reset_index(drop=True)
    texts = tickets["ticket_text"].fillna("")
    hold = holdout_mask(tickets["support_ticket_id"], config.holdout_share)
    return (_fit(texts, tickets["desk_category"], tickets["desk_category"].notna().to_numpy() & ~hold, config),
            _fit(texts, tickets["desk_priority"], tickets["desk_priority"].notna().to_numpy() & ~hold, config))


def predict(tickets: pd.DataFrame, category_model: Pipeline | None, priority_model: Pipeline | None,
            config: TriageConfig) -> tuple[pd.DataFrame, dict[str, float]]:
    """One row per ticket: support_ticket_id, predicted_category / _priority (str or None), category_ / priority_
    confidence (float, 4 decimals), suggested_team, is_auto_triaged (both confidences above their bars), route
    (team or human_review), label_split (train | holdout | unlabelled), desk_category, desk_priority. And the
    held-out metrics: accuracy of both classifiers and of their majority baselines (the most common training
    label), held-out ticket count, share auto-triaged, and the accuracy of the auto-triaged held-out tickets."""
    tickets = tickets.reset_index(drop=True)
    texts = tickets["ticket_text"].fillna("")
    labelled_cat = tickets["desk_category"].notna().to_numpy()
    hold = holdout_mask(tickets["support_ticket_id"], config.holdout_share)
    cat_pred, cat_conf = _predict(category_model, texts)
    pri_pred, pri_conf = _predict(priority_model, texts)
    auto = ((cat_conf >= config.min_category_confidence) & (pri_conf >= config.min_priority_confidence)
            & cat_pred.notna().to_numpy())
    out = pd.DataFrame({
        "support_ticket_id": tickets["support_ticket_id"],
        "predicted_category": cat_pred, "category_confidence": np.round(cat_conf, 4),
        "predicted_priority": pri_pred, "priority_confidence": np.round(pri_conf, 4),
        "suggested_team": cat_pred.map(TEAMS),
        "is_auto_triaged": auto,
        "label_split": np.where(~labelled_cat, "unlabelled", np.where(hold, "holdout", "train")),
        "desk_category": tickets["desk_category"], "desk_priority": tickets["desk_priority"],
    })
    # low confidence never acts on its own: a person decides
    out["route"] = np.where(auto, out["suggested_team"], HUMAN_REVIEW)
    return out, holdout_metrics(out, tickets, hold)


def holdout_metrics(out: pd.DataFrame, tickets: pd.DataFrame, hold: np.ndarray) -> dict[str, float]:
    """See ``predict``."""
    h = out[out["label_split"] == "holdout"]
    hp = h[h["desk_priority"].notna()]
    train_cat = tickets.loc[tickets["desk_category"].notna().to_numpy() & ~hold, "desk_category"].mode()
    train_pri = tickets.loc[tickets["desk_priority"].notna().to_numpy() & ~hold, "desk_priority"].mode()
    auto_h = h[h["is_auto_triaged"]]
    return {
        "holdout_tickets": float(len(h)),
        "holdout_category_accuracy": float((h["predicted_category"] == h["desk_category"]).mean()) if len(h) else 0.0,
        "holdout_majority_baseline": (float((h["desk_category"] == train_cat.iloc[0]).mean())
                                      if len(h) and len(train_cat) else 0.0),
        "holdout_priority_accuracy": float((hp["predicted_priority"] == hp["desk_priority"]).mean()) if len(hp) else 0.0,
        "holdout_priority_majority_baseline": (float((hp["desk_priority"] == train_pri.iloc[0]).mean())
                                               if len(hp) and len(train_pri) else 0.0),
        "share_auto_triaged": float(out["is_auto_triaged"].mean()) if len(out) else 0.0,
        "holdout_auto_triaged": float(len(auto_h)),
        "holdout_auto_triaged_accuracy": (float((auto_h["predicted_category"] == auto_h["desk_category"]).mean())
                                          if len(auto_h) else 0.0),
    }


def majority_category(tickets: pd.DataFrame, config: TriageConfig) -> str | None:
    """The most common desk category among the training tickets (the baseline's answer; None without labels)."""
    tickets = tickets.reset_index(drop=True)
    hold = holdout_mask(tickets["support_ticket_id"], config.holdout_share)
    mode = tickets.loc[tickets["desk_category"].notna().to_numpy() & ~hold, "desk_category"].mode()
    return None if mode.empty else str(mode.iloc[0])


def classify(tickets: pd.DataFrame, config: TriageConfig) -> tuple[pd.DataFrame, Pipeline | None, Pipeline | None, dict]:
    """Fit both classifiers on the training tickets and predict every ticket: (``predict`` frame, category model,
    priority model, held-out metrics)."""
    cat_model, pri_model = fit_models(tickets, config)
    out, metrics = predict(tickets, cat_model, pri_model, config)
    return out, cat_model, pri_model, metrics


@dataclass(frozen=True)
class TriageGate:
    passed: bool
    reason: str


def judge(candidate: dict[str, float], champion: dict[str, float] | None, has_models: bool,
          config: TriageConfig) -> TriageGate:
    """The gate on ``predict`` metrics of the candidate (and of the champion on the same tickets, or None)."""
    if not has_models:
        return TriageGate(False, "no candidate classifiers (fewer than two desk-labelled classes)")
    n = int(candidate["holdout_tickets"])
    if n < config.gate_min_heldout:
        return TriageGate(False, f"only {n} held-out desk-labelled tickets (< {config.gate_min_heldout}): no verdict")
    cat, cat_base = candidate["holdout_category_accuracy"], candidate["holdout_majority_baseline"]
    pri, pri_base = candidate["holdout_priority_accuracy"], candidate["holdout_priority_majority_baseline"]
    figures = (f"held-out category accuracy {cat:.3f} vs majority {cat_base:.3f} (margin {config.gate_margin}), "
               f"priority {pri:.3f} vs majority {pri_base:.3f} (margin {config.priority_gate_margin})"
               + (f", champion category accuracy {champion['holdout_category_accuracy']:.3f}" if champion else "")
               + f"; {n} tickets")
    if cat < cat_base + config.gate_margin:
        return TriageGate(False, "category classifier does not beat the majority baseline by the margin: " + figures)
    if pri < pri_base + config.priority_gate_margin:
        return TriageGate(False, "priority classifier does not beat its majority baseline by the margin: " + figures)
    if champion is not None and cat < champion["holdout_category_accuracy"]:
        return TriageGate(False, "worse than the champion: " + figures)
    return TriageGate(True, "passed: " + figures)


KB_CHUNK_TICKETS = 50_000  # tickets ranked at once: bounds the dense tickets x articles matrices


def retrieve_kb(tickets: pd.DataFrame, predicted_category: pd.Series, articles: pd.DataFrame,
                config: TriageConfig, chunk_tickets: int = KB_CHUNK_TICKETS) -> pd.DataFrame:
    """Top-k KB articles per ticket by TF-IDF cosine (title counted twice), nudged toward the predicted category.

    ``tickets``: support_ticket_id (str), ticket_text (str); ``predicted_category`` aligned with its rows;
    ``articles``: support_article_id, title, body, category (str). Returns ``config.kb_top_k`` rows per ticket:
    support_ticket_id, suggestion_rank (1..k), support_article_id, similarity (cosine, 4 decimals, without the
    category boost). Ties keep the articles' order (stable sort).

    The dense similarity of ``chunk_tickets`` tickets at a time is ranked, so memory is chunk x articles, not
    tickets x articles: at simulator scale 500 (1.68M tickets, ~210 articles) the whole-desk matrices (cosine,
    boost, their sum, the sort's keys and its order, 2.8 GB each) took the ML phase to 15.5 GB. The ranking of
    a ticket does not depend on the other tickets of its chunk, so the result is the same for any chunk size."""
    cols = ["support_ticket_id", "suggestion_rank", "support_article_id", "similarity"]
    if tickets.empty or articles.empty:
        return pd.DataFrame(columns=cols)
    if chunk_tickets < 1:
        raise ValueError(f"chunk_tickets must be >= 1, got {chunk_tickets}")
    docs = (articles["title"].fillna("") + " " + articles["title"].fillna("") + " " + articles["body"].fillna("")).tolist()
    # one fit over articles and tickets (the idf sees both), one tokenisation: the rows after the articles are the tickets
    matrix = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english").fit_transform(
        docs + tickets["ticket_text"].fillna("").tolist())
    kb_t = matrix[: len(docs)].T.tocsc()
    tx = matrix[len(docs):].tocsr()
    del matrix
    k = min(config.kb_top_k, len(docs))
    category = articles["category"].to_numpy()
    predicted = predicted_category.to_numpy()
    top = np.empty((len(tickets), k), dtype=np.int64)
    best = np.empty((len(tickets), k), dtype=np.float64)
    for start in range(0, len(tickets), chunk_tickets):
        stop = min(start + chunk_tickets, len(tickets))
        sim = (tx[start:stop] @ kb_t).toarray()  # rows are L2-normalised, so this is the cosine
        ranked = sim + (predicted[start:stop, None] == category[None, :]) * config.kb_category_boost
        order = np.argsort(-ranked, axis=1, kind="stable")[:, :k]
        top[start:stop] = order
        best[start:stop] = np.take_along_axis(sim, order, axis=1)
    return pd.DataFrame({
        "support_ticket_id": np.repeat(tickets["support_ticket_id"].to_numpy(), k),
        "suggestion_rank": np.tile(np.arange(1, k + 1), len(tickets)),
        "support_article_id": articles["support_article_id"].to_numpy()[top.ravel()],
        "similarity": np.round(best.ravel(), 4),
    })


def triage(tickets: pd.DataFrame, articles: pd.DataFrame, config: TriageConfig | None = None) -> TriageResult:
    config = config or TriageConfig()
    predictions, cat_model, pri_model, metrics = classify(tickets, config)
    suggestions = retrieve_kb(tickets.reset_index(drop=True), predictions["predicted_category"],
                              articles.reset_index(drop=True), config)
    return TriageResult(predictions, suggestions, cat_model, pri_model, metrics)
