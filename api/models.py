"""Response and request bodies of the v1 API (they are the OpenAPI contract).

Row models list the columns a client may rely on; ``extra="allow"`` lets a mart gain a column without
breaking the contract (new columns appear, none disappear within v1). Columns holding personal data are
null for roles without the ``pii`` permission, and ``redacted`` names them.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Row(BaseModel):
    model_config = ConfigDict(extra="allow")


class Page(BaseModel):
    limit: int
    offset: int
    returned: int
    redacted: list[str] = Field(default_factory=list,
                                description="Columns nulled because the caller's role may not see personal data.")


class Problem(BaseModel):
    detail: Any = Field(description="What was wrong with the request (a message, or FastAPI's list of field errors).")


class Health(BaseModel):
    status: Literal["ok", "no_published_warehouse"]
    api_version: str
    published_warehouse: dict[str, Any] | None
    detail: str | None = None


class Forecast(Row):
    sku: str
    location_id: str
    origin_date: date | None = None
    forecast_date: date
    horizon: int | None = None
    prediction: float | None = None
    lower: float | None = None
    upper: float | None = None
    model_name: str | None = None
    model_version: str | None = None


class ForecastPage(Page):
    items: list[Forecast]


class InvoiceOutcome(Row):
    invoice_id: str
    outcome: str | None = None
    match_method: str | None = None
    exception_reason: str | None = None
    matched_po_number: str | None = None
    suggested_po_number: str | None = None
    best_match_score: float | None = None
    model_version: str | None = None


class CandidatePO(Row):
    po_number: str
    match_score: float | None = None


class ReviewDecision(Row):
    decision_id: str
    invoice_id: str
    action: str
    po_number: str | None = None
    decided_by: str
    reason: str
    decided_at: datetime


class InvoiceDetail(BaseModel):
    outcome: InvoiceOutcome
    candidates: list[CandidatePO]
    decisions: list[ReviewDecision]
    redacted: list[str] = Field(default_factory=list)


class QueueItem(Row):
    invoice_id: str
    exception_reason: str | None = None
    suggested_po_number: str | None = None
    best_match_score: float | None = None
    invoice_date: date | None = None
    total_amount_base: float | None = None
    decided_since_publish: bool = Field(description="A decision was recorded after the last publish; the next run applies it.")


class QueuePage(Page):
    items: list[QueueItem]
    waiting: int = Field(description="Items in the published queue with no decision recorded since.")


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["approve", "reject", "reassign"]
    po_number: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-/]+$",
                                  description="ERP PO number: required for reassign; approve defaults to the suggested PO; "
                                              "not allowed for reject.")
    reason: str = Field(min_length=1, max_length=2000, description="Why (kept in the audit trail).")


class DecisionRecorded(BaseModel):
    decision_id: str
    invoice_id: str
    action: str
    po_number: str | None
    decided_by: str
    applied: str = Field(description="When the decision takes effect.")


class TicketTriage(Row):
    support_ticket_id: str
    predicted_category: str | None = None
    category_confidence: float | None = None
    predicted_priority: str | None = None
    priority_confidence: float | None = None
    suggested_team: str | None = None
    route: str | None = None
    category_model_version: str | None = None
    priority_model_version: str | None = None


class KbSuggestion(Row):
    rank: int
    support_article_id: str
    title: str | None = None
    similarity: float | None = None


class TicketTriageDetail(BaseModel):
    triage: TicketTriage | None = Field(description="The published (batch) triage; null when the ticket is not in it yet.")
    suggested_articles: list[KbSuggestion]
    realtime: list[dict[str, Any]] = Field(description="Real-time decisions for the ticket's events (provisional).")


class TriagePage(Page):
    items: list[TicketTriage]


class CashAlert(Row):
    alert_id: str
    alert_type: str
    severity: str | None = None
    subject_id: str | None = None
    alert_date: date | None = None
    message: str | None = None


class CashAlertPage(Page):
    items: list[CashAlert]


class EntityDetail(BaseModel):
    kind: Literal["customer", "supplier", "product"]
    unified_id: str
    record: dict[str, Any]
    source_ids: list[dict[str, Any]]
    redacted: list[str] = Field(default_factory=list)


class Neighbour(Row):
    edge_type: str
    direction: Literal["out", "in"]
    node_id: str
    node_type: str | None = None
    unified_id: str | None = None
    label: str | None = None


class Neighbours(BaseModel):
    node_id: str
    items: list[Neighbour]


class ModelLineage(Row):
    model_name: str
    model_version: str
    data_fingerprint: str | None = None
    training_window_start: date | None = None
    training_window_end: date | None = None
    run_id: str | None = None
    code_version: str | None = None
    registered: bool = Field(description="The version is in the published registry mirror (ml.model_registry).")


class SourceLines(Row):
    source_file: str
    entity: str
    lines: list[int]
    load_id: str | None = None
    content_sha256: str | None = None
    loaded_at: datetime | None = None


class Lineage(BaseModel):
    prediction: str
    key: dict[str, Any]
    row: dict[str, Any]
    models: list[ModelLineage]
    sources: list[SourceLines]
    sources_truncated: bool = False


class EventAccepted(BaseModel):
    event_id: str
    stream_id: str
    status: Literal["queued"]


class EventPage(Page):
    items: list[dict[str, Any]]


class DecisionPage(Page):
    items: list[dict[str, Any]]


class AuditPage(Page):
    items: list[dict[str, Any]]
