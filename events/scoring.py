"""Real-time AI decisions for landed events, from the published warehouse's current state.

* ``bank_txn_anomaly``: the anomaly scorer's rule part (``smb_warehouse.cashflow.anomaly.rule_flags`` and
  ``rule_part``, the same rules, thresholds and reasons as the batch scorer) on features computed for the new
  line against the published history: the counterparty's robust centre/spread of log(|amount|) per
  direction (from ``int_cashflow__bank_txn_features``; direction-wide when its history is short), whether the
  counterparty is new, its share of lines backed by a payment document, a duplicate (same counterparty,
  amount and reference within 14 days before), weekend booking. Amounts are converted to the base currency
  with the ``fx_rates`` seed of the booking month, as staging does. The IsolationForest part is not applied:
  it ranks a line within a whole batch, which one event is not; the next pipeline run scores the line fully.
* ``ticket_triage``: the category and priority classifiers whose versions produced the published triage
  (``fct_ticket_triage``), loaded from the MLflow registry (never from a file path), the same routing
  thresholds (``TriageConfig``) and the same top-3 knowledge-base retrieval (``retrieve_kb``).

Profiles and models are loaded once per published warehouse generation (a publish reloads them).
"""
from __future__ import annotations

import functools
import math
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from smb_warehouse.cashflow import anomaly
from smb_warehouse.cashflow.tables import FEATURES_MODEL
from smb_warehouse.core import dbt_manifest
from smb_warehouse.core.published import PublishedWarehouse
from smb_warehouse.triage import model as triage_model
from smb_warehouse.triage.tables import ARTICLES_MODEL

BANK_RULES_MODEL = "bank_txn_anomaly_rules"
DUPLICATE_WINDOW_DAYS = 14
_REGARDS = re.compile(r"(?i)regards,[^\n]*\Z")


@functools.cache
def relation(model: str) -> str:
    """``dbt_manifest.relation``, remembered per process; a manifest caught mid-rewrite (a run's ``dbt parse``)
    is read again for up to 5 s."""
    deadline = time.monotonic() + 5
    while True:
        try:
            return dbt_manifest.relation(model)
        except dbt_manifest.ManifestError as exc:
            if "not in" in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@dataclass
class Decision:
    subject_id: str
    score: float | None
    label: str
    detail: dict[str, Any]
    model_name: str
    model_version: str


def _counterparty_key(iban: str | None, name: str | None) -> str:
    """coalesce(normalized IBAN, lower(clean name), 'unknown'), as int_cashflow__bank_txn_features keys it
    (before hashing: the key never leaves this process)."""
    iban_n = re.sub(r"[^A-Z0-9]", "", (iban or "").upper()) or None
    name_n = re.sub(r"\s+", " ", (name or "").strip()).lower() or None
    return iban_n or name_n or "unknown"


class BankProfile:
    """The published bank history the rules compare a new line with."""

    def __init__(self, wh: PublishedWarehouse):
        features, stg, fx = relation(FEATURES_MODEL), relation("stg_finance__bank_transactions"), relation("fx_rates")
        lines = pd.DataFrame(wh.records(f"""
            SELECT f.finance_bank_txn_id AS txn_id, f.direction, f.booking_date, CAST(f.amount_base AS DOUBLE) AS amount_base,
                   f.log_abs_amount, f.has_payment_record,
                   coalesce(s.counterparty_iban, lower(s.counterparty_name), 'unknown') AS cp,
                   coalesce(s.reference, '') AS reference
            FROM {features} f JOIN {stg} s USING (finance_bank_txn_id)"""))
        if lines.empty:
            lines = pd.DataFrame(columns=["txn_id", "direction", "booking_date", "amount_base", "log_abs_amount",
                                          "has_payment_record", "cp", "reference"])
        self.n_lines = len(lines)
        self.cp_n = lines.groupby("cp").size().to_dict()
        self.cp_share_paid = lines.groupby("cp")["has_payment_record"].mean().to_dict()
        self.cp_dir: dict[tuple[str, str], tuple[float, float]] = {}
        for (cp, direction), group in lines.groupby(["cp", "direction"]):
            x = group["log_abs_amount"].to_numpy(dtype=float)
            med = float(np.median(x))
            self.cp_dir[(cp, direction)] = (med, float(np.median(np.abs(x - med))))
        self.dir: dict[str, tuple[float, float]] = {}
        for direction, group in lines.groupby("direction"):
            x = group["log_abs_amount"].to_numpy(dtype=float)
            med = float(np.median(x))
            self.dir[direction] = (med, float(np.median(np.abs(x - med))))
        self.recent: dict[tuple[str, float, str], list[tuple[date, str]]] = defaultdict(list)
        for row in lines[["cp", "amount_base", "reference", "booking_date", "txn_id"]].itertuples(index=False):
            self.recent[(row.cp, round(row.amount_base, 4), row.reference)].append((row.booking_date, row.txn_id))
        self.fx = {(c, m): float(r) for c, m, r in wh.rows(f"SELECT currency, rate_month, rate_to_base FROM {fx}")[1]}
        self.base_currency = next((c for (c, _), r in self.fx.items() if r == 1.0), "EUR")
        self.lock = threading.Lock()

    def amount_base(self, amount: Decimal, currency: str, booking: date) -> float | None:
        currency = (currency or "").strip().upper()
        if currency == self.base_currency:
            return float(amount)
        rate = self.fx.get((currency, booking.replace(day=1)))
        return None if rate is None else float(amount) * rate


def score_bank_lines(profile: BankProfile, rows: list[dict[str, Any]], paid_txn_ids: set[str],
                     threshold: float, config: anomaly.ScoringConfig | None = None) -> list[Decision]:
    """One decision per typed raw row (``txn_id``, ``amount``, ``currency``, ``booking_date``,
    ``counterparty_iban``, ``counterparty_name``, ``reference``): score in 0..1, label ``alert`` when the
    score reaches ``threshold``, else ``ok``. Lines of the same call are added to the profile in order, so a
    duplicate within one micro-batch is caught too."""
    config = config or anomaly.ScoringConfig()
    if not rows:
        return []
    feats = []
    with profile.lock:
        for row in rows:
            cp = _counterparty_key(row.get("counterparty_iban"), row.get("counterparty_name"))
            booking = row["booking_date"]
            amount = profile.amount_base(row["amount"], row["currency"], booking)
            direction = "credit" if row["amount"] >= 0 else "debit"
            log_abs = math.log(abs(amount) + 1) if amount is not None else float("nan")
            n_before = profile.cp_n.get(cp, 0)
            own = profile.cp_dir.get((cp, direction))
            reference = re.sub(r"\s+", " ", (row.get("reference") or "").strip())
            dup = None
            if amount is not None:
                earlier = [t for d, t in profile.recent.get((cp, round(amount, 4), reference), ())
                           if booking - timedelta(days=DUPLICATE_WINDOW_DAYS) <= d <= booking and t < row["txn_id"]]
                dup = min(earlier) if earlier else None
                profile.recent[(cp, round(amount, 4), reference)].append((booking, row["txn_id"]))
            profile.cp_n[cp] = n_before + 1
            feats.append({
                "finance_bank_txn_id": row["txn_id"], "direction": direction, "log_abs_amount": log_abs,
                "iso_day_of_week": booking.isoweekday(), "is_first_for_counterparty": n_before == 0,
                "has_payment_record": row["txn_id"] in paid_txn_ids, "cp_n_txns": n_before + 1,
                "cp_median_log_abs_amount": own[0] if own else float("nan"),
                "cp_mad_log_abs_amount": own[1] if own else float("nan"),
                "cp_share_with_payment_record": profile.cp_share_paid.get(cp, 0.0), "duplicate_of_txn_id": dup,
                "_dir": profile.dir.get(direction, (float("nan"), float("nan"))), "_amount_base": amount,
            })
    features = pd.DataFrame(feats)
    # robust z as anomaly.robust_z computes it, with the direction-wide centre/spread of the whole history
    x = features["log_abs_amount"].to_numpy(dtype=float)
    short = features["cp_n_txns"].to_numpy() < config.min_history
    dir_med = np.array([d[0] for d in features["_dir"]])
    dir_mad = np.array([d[1] for d in features["_dir"]])
    med = np.where(short, dir_med, features["cp_median_log_abs_amount"].to_numpy(dtype=float))
    mad = np.maximum(np.where(short, dir_mad, features["cp_mad_log_abs_amount"].to_numpy(dtype=float)), config.mad_floor)
    z = np.nan_to_num((x - med) / (1.4826 * mad))
    flags = anomaly.rule_flags(features, z, config)
    scores, reasons = anomaly.rule_part(flags, z, config)
    out = []
    for i, row in enumerate(rows):
        s = float(round(scores[i], 4))
        detail = {"reasons": reasons[i], "amount_robust_z": round(float(z[i]), 4),
                  "amount_base": features["_amount_base"][i],
                  "duplicate_of_txn_id": features["duplicate_of_txn_id"][i],
                  "history_lines": profile.n_lines,
                  **{k: bool(v) for k, v in flags.iloc[i].items()}}
        if features["_amount_base"][i] is None:
            detail["note"] = "no fx rate for the booking month: amount rules not applied"
        out.append(Decision(row["txn_id"], s, "alert" if s >= threshold else "ok", detail, BANK_RULES_MODEL,
                            rules_version()))
    return out


@functools.cache
def rules_version() -> str:
    """``rules@<git sha of the code>``: the rule part is code, versioned with the repository."""
    from smb_warehouse.core.registry import code_version

    return f"rules@{code_version()}"


class TriageModels:
    """The classifier versions of the published triage, loaded from the MLflow registry, and the KB."""

    def __init__(self, wh: PublishedWarehouse):
        import mlflow.sklearn

        from smb_warehouse.core import tracking

        versions = wh.rows(f"SELECT category_model_version, priority_model_version, count(*) AS n "
                           f"FROM {relation('fct_ticket_triage')} GROUP BY ALL ORDER BY n DESC LIMIT 1")[1]
        if not versions:
            raise LookupError("the published warehouse has no ticket triage yet: no classifier version to use")
        self.category_version, self.priority_version = versions[0][0], versions[0][1]
        tracking.configure()
        self.models = {}
        for label, tagged in (("category", self.category_version), ("priority", self.priority_version)):
            name, _, version = str(tagged).partition("/")
            if not version.isdigit():
                raise LookupError(f"published {label} classifier version {tagged!r} is not a registered version")
            self.models[label] = mlflow.sklearn.load_model(f"models:/{name}/{version}")
        self.articles = pd.DataFrame(wh.records(
            f"SELECT support_article_id, title, body, category, sku FROM {relation(ARTICLES_MODEL)} ORDER BY support_article_id"))
        self.config = triage_model.TriageConfig()

    @property
    def model_version(self) -> str:
        return f"{self.category_version},{self.priority_version}"


def ticket_text(subject: str | None, body: str | None) -> str:
    """subject + ' ' + body without its closing signature, as int_triage__ticket_inputs builds it."""
    return f"{subject or ''} {_REGARDS.sub('', body or '', count=1)}"


def triage_tickets(models: TriageModels, rows: list[dict[str, Any]]) -> list[Decision]:
    """One decision per typed raw ticket row (``ticket_id``, ``subject``, ``body``): predicted category and
    priority with confidences, route (team, or human_review below the thresholds) and top-3 KB articles."""
    if not rows:
        return []
    tickets = pd.DataFrame({"support_ticket_id": [r["ticket_id"] for r in rows],
                            "ticket_text": [ticket_text(r.get("subject"), r.get("body")) for r in rows]})
    cfg = models.config
    results = {}
    for label in ("category", "priority"):
        proba = models.models[label].predict_proba(tickets["ticket_text"])
        classes = models.models[label].classes_
        results[label] = (classes[proba.argmax(axis=1)], proba.max(axis=1))
    cat, cat_conf = results["category"]
    pri, pri_conf = results["priority"]
    kb = triage_model.retrieve_kb(tickets, pd.Series(cat), models.articles, cfg) if not models.articles.empty else \
        pd.DataFrame(columns=["support_ticket_id", "suggestion_rank", "support_article_id", "similarity"])
    out = []
    for i, row in enumerate(rows):
        auto = bool(cat_conf[i] >= cfg.min_category_confidence and pri_conf[i] >= cfg.min_priority_confidence)
        team = triage_model.TEAMS.get(str(cat[i]))
        route = team if auto and team else triage_model.HUMAN_REVIEW
        suggestions = kb[kb["support_ticket_id"] == row["ticket_id"]].sort_values("suggestion_rank")
        detail = {"predicted_category": str(cat[i]), "category_confidence": round(float(cat_conf[i]), 4),
                  "predicted_priority": str(pri[i]), "priority_confidence": round(float(pri_conf[i]), 4),
                  "suggested_team": team, "route": route, "is_auto_triaged": auto,
                  "kb_suggestions": [{"rank": int(s.suggestion_rank), "support_article_id": s.support_article_id,
                                      "similarity": float(s.similarity)} for s in suggestions.itertuples()]}
        out.append(Decision(row["ticket_id"], round(float(cat_conf[i]), 4), route, detail,
                            "ticket_category_classifier+ticket_priority_classifier", models.model_version))
    return out


class RealtimeScorer:
    """Decisions for landed events; profiles and models follow the published warehouse generation."""

    def __init__(self, wh: PublishedWarehouse | None = None):
        self.wh = wh or PublishedWarehouse()
        self._lock = threading.Lock()
        self._generation: int | None = None
        self._bank: BankProfile | None = None
        self._triage: TriageModels | None = None
        self._triage_error: str | None = None

    def _refresh(self) -> None:
        inode = self.wh.info()["inode"]
        with self._lock:
            if inode != self._generation:
                self._bank = BankProfile(self.wh)
                try:
                    self._triage, self._triage_error = TriageModels(self.wh), None
                except Exception as exc:  # no triage yet / registry unreachable: tickets still land, undecided
                    self._triage, self._triage_error = None, f"{type(exc).__name__}: {exc}"
                self._generation = inode

    def warm(self) -> None:
        """Load profiles and models now (the first event then pays no loading time)."""
        self._refresh()

    def bank(self, rows: list[dict[str, Any]], threshold: float) -> list[Decision]:
        self._refresh()
        ids = [r["txn_id"] for r in rows]
        paid = set()
        if ids:
            paid = {r[0] for r in self.wh.rows(
                f"SELECT finance_bank_txn_id FROM {relation('fct_payments')} WHERE finance_bank_txn_id IN "
                f"({', '.join('?' * len(ids))})", ids)[1]}
        return score_bank_lines(self._bank, rows, paid, threshold)

    def tickets(self, rows: list[dict[str, Any]]) -> list[Decision]:
        self._refresh()
        if self._triage is None:
            raise LookupError(f"ticket triage unavailable: {self._triage_error}")
        return triage_tickets(self._triage, rows)
