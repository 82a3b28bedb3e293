"""Support-ticket triage: category + priority classifiers (TF-IDF + logistic regression), routing, and
top-3 knowledge-base retrieval (TF-IDF cosine). Everything runs locally; no hosted model.

Training data is the desk's own labels (tickets an agent categorised). A deterministic 20% of those
is held out (hash of the ticket id) so accuracy against labelled history is measured on tickets the
model never saw. The simulator's true labels are never read here.
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
    # below this class probability a person triages the ticket (env SMB_TRIAGE_MIN_CONFIDENCE)
    min_category_confidence: float = field(default_factory=lambda: _env_float("SMB_TRIAGE_MIN_CONFIDENCE", 0.6))
    min_priority_confidence: float = field(default_factory=lambda: _env_float("SMB_TRIAGE_MIN_PRIORITY_CONFIDENCE", 0.4))
    holdout_share: float = 0.2
    c: float = 5.0
    kb_top_k: int = 3
    kb_category_boost: float = 0.1  # articles of the predicted category first among near-ties


def holdout_mask(ticket_ids: pd.Series, share: float) -> np.ndarray:
    """Deterministic: the same ticket is always train or always holdout, across runs and machines."""
    buckets = [int(hashlib.sha256(t.encode()).hexdigest()[:8], 16) % 1000 for t in ticket_ids]
    return np.array(buckets) < share * 1000


def text_classifier(c: float) -> Pipeline:
    return Pipeline([
        ("tfidf", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, lowercase=True)),
        ("clf", LogisticRegression(C=c, max_iter=2000, class_weight="balanced")),
    ])


@dataclass
class TriageResult:
    predictions: pd.DataFrame
    kb_suggestions: pd.DataFrame
    category_model: Pipeline | None
    priority_model: Pipeline | None
    metrics: dict[str, float]


def _fit_predict(texts: pd.Series, labels: pd.Series, train: np.ndarray, c: float):
    if train.sum() == 0 or labels[train].nunique() < 2:
        return None, pd.Series([None] * len(texts), dtype=object), np.zeros(len(texts))
    model = text_classifier(c).fit(texts[train], labels[train])
    proba = model.predict_proba(texts)
    return model, pd.Series(model.classes_[proba.argmax(axis=1)], index=texts.index), proba.max(axis=1)


def classify(tickets: pd.DataFrame, config: TriageConfig) -> tuple[pd.DataFrame, Pipeline | None, Pipeline | None, dict]:
    tickets = tickets.reset_index(drop=True)
    texts = tickets["ticket_text"].fillna("")
    labelled_cat = tickets["desk_category"].notna().to_numpy()
    labelled_pri = tickets["desk_priority"].notna().to_numpy()
    hold = holdout_mask(tickets["support_ticket_id"], config.holdout_share)
    cat_model, cat_pred, cat_conf = _fit_predict(texts, tickets["desk_category"], labelled_cat & ~hold, config.c)
    pri_model, pri_pred, pri_conf = _fit_predict(texts, tickets["desk_priority"], labelled_pri & ~hold, config.c)
    auto = (cat_conf >= config.min_category_confidence) & (pri_conf >= config.min_priority_confidence) & cat_pred.notna().to_numpy()
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
    h = out[out["label_split"] == "holdout"]
    majority = tickets.loc[labelled_cat & ~hold, "desk_category"].mode()
    metrics = {
        "holdout_tickets": float(len(h)),
        "holdout_category_accuracy": float((h["predicted_category"] == h["desk_category"]).mean()) if len(h) else 0.0,
        "holdout_majority_baseline": float((h["desk_category"] == majority.iloc[0]).mean()) if len(h) and len(majority) else 0.0,
        "holdout_priority_accuracy": float((h["predicted_priority"] == h["desk_priority"]).mean()) if len(h) else 0.0,
        "share_auto_triaged": float(auto.mean()) if len(out) else 0.0,
    }
    return out, cat_model, pri_model, metrics


def retrieve_kb(tickets: pd.DataFrame, predicted_category: pd.Series, articles: pd.DataFrame,
                config: TriageConfig) -> pd.DataFrame:
    """Top-k KB articles per ticket by TF-IDF cosine (title counted twice), nudged toward the predicted category."""
    cols = ["support_ticket_id", "suggestion_rank", "support_article_id", "similarity"]
    if tickets.empty or articles.empty:
        return pd.DataFrame(columns=cols)
    docs = (articles["title"].fillna("") + " " + articles["title"].fillna("") + " " + articles["body"].fillna("")).tolist()
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english").fit(
        docs + tickets["ticket_text"].fillna("").tolist())
    kb = vectorizer.transform(docs)
    tx = vectorizer.transform(tickets["ticket_text"].fillna(""))
    sim = (tx @ kb.T).toarray()  # rows are L2-normalised, so this is the cosine
    boost = (predicted_category.to_numpy()[:, None] == articles["category"].to_numpy()[None, :]) * config.kb_category_boost
    ranked = sim + boost
    k = min(config.kb_top_k, ranked.shape[1])
    top = np.argsort(-ranked, axis=1, kind="stable")[:, :k]
    rows = np.repeat(np.arange(len(tickets)), k)
    return pd.DataFrame({
        "support_ticket_id": tickets["support_ticket_id"].to_numpy()[rows],
        "suggestion_rank": np.tile(np.arange(1, k + 1), len(tickets)),
        "support_article_id": articles["support_article_id"].to_numpy()[top.ravel()],
        "similarity": np.round(sim[rows, top.ravel()], 4),
    })


def triage(tickets: pd.DataFrame, articles: pd.DataFrame, config: TriageConfig | None = None) -> TriageResult:
    config = config or TriageConfig()
    predictions, cat_model, pri_model, metrics = classify(tickets, config)
    suggestions = retrieve_kb(tickets.reset_index(drop=True), predictions["predicted_category"], articles.reset_index(drop=True), config)
    return TriageResult(predictions, suggestions, cat_model, pri_model, metrics)
