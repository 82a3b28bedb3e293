"""The v1 REST API over the published warehouse, the AP review store and the event intake (FastAPI).

    make api                      # uvicorn on 127.0.0.1:8000 (SMB_API_PORT), keys from SMB_API_KEYS
    python -m api.openapi --write # refresh the committed OpenAPI document (api/openapi.json)

Reads come from the PUBLISHED warehouse only (``smb_warehouse.core.published.PublishedWarehouse``: read-only,
follows every publish, never blocks a run). Writes go only to the AP review decision store (the same
append-only SQLite store as ``make review``) and to the event stream; every write request is recorded in the
audit log (``api.audit``) with who and when. Relation names come from the dbt manifest and the Python table
declarations. Access: ``api.auth`` (roles viewer / reviewer / admin / publisher); personal data only for
roles with the ``pii`` permission (``api.pii``). The review page for AP clerks is ``/review``.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api import models as m
from api.audit import AuditLog
from api.auth import KeyRing, Principal
from api.pii import contract_pii_columns, model_pii_columns, redact
from events.schema import EVENT_TYPES, Event
from events.store import EventStore
from smb_warehouse.core import dbt_manifest, python_tables
from smb_warehouse.core.published import PublishedWarehouse, WarehouseUnavailable
from smb_warehouse.ingestion.contracts import load_contracts
from smb_warehouse.ingestion.loader import AUDIT_TABLE
from smb_warehouse.reconciliation import decisions as decision_store

API_VERSION = "1.0.0"
STATIC = Path(__file__).resolve().parent / "static"
ID = r"^[A-Za-z0-9_.:\-]{1,64}$"
MAX_LIMIT = 1000
SOURCE_LINES_CAP = 200  # lineage lists at most this many source lines per file

CANDIDATE_SCORES = python_tables.table("reconciliation.candidate_scores")
KB_SUGGESTIONS = python_tables.table("triage.kb_suggestions")
REVIEW_DECISIONS = python_tables.table("reconciliation.review_decisions")  # the decisions the published run applied
FORECASTS = python_tables.table("ml.demand_forecasts")
REGISTRY = python_tables.table("ml.model_registry")
ENTITY_MODELS = {"customer": ("dim_customer", "customer_id", "bdg_customer_source_ids"),
                 "supplier": ("dim_supplier", "supplier_id", "bdg_supplier_source_ids"),
                 "product": ("dim_product", "product_id", "bdg_product_source_ids")}


_RELATIONS: dict[str, str] = {}
_RELATIONS_LOCK = threading.Lock()


def relation(model: str) -> str:
    """``dbt_manifest.relation(model)``, remembered for the life of the process once resolved.

    Why: a pipeline run re-parses the dbt project and rewrites target/manifest.json in place; a request that
    read it mid-write would fail. Names do not change without a code change (which restarts the API), so
    each is resolved once; a manifest caught mid-write is read again for up to 5 s before giving up (503).
    """
    found = _RELATIONS.get(model)
    if found is not None:
        return found
    with _RELATIONS_LOCK:
        if model not in _RELATIONS:
            _RELATIONS[model] = _retry(lambda: dbt_manifest.relation(model))
        return _RELATIONS[model]


def _retry(read: Callable[[], Any], seconds: float = 5.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return read()
        except dbt_manifest.ManifestError as exc:
            if "not in" in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _entity(system: str, name: str):
    return load_contracts()[system].entities[name]


def _day(name: str, text: str | None) -> date | None:
    """A YYYY-MM-DD query value as a date; 422 naming the parameter when it is no calendar day. (Typed as text
    with a pattern because pydantic would also take numbers as Unix timestamps.)"""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise HTTPException(422, f"{name}: {text!r} is not a calendar date (YYYY-MM-DD)") from None


_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key from SMB_API_KEYS.")
_bearer = HTTPBearer(auto_error=False, description="The same API key as a bearer token.")

DAY = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
Day = Annotated[str, Query(pattern=DAY, description="A date, YYYY-MM-DD.")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Rows per page (1-1000).")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Rows to skip.")]
IdPath = Annotated[str, PathParam(pattern=ID, description="An identifier (letters, digits, _ . : -).")]


def create_app(keys: KeyRing | None = None, warehouse: PublishedWarehouse | None = None,
               event_store: EventStore | None = None, audit: AuditLog | None = None,
               redis_client: Any = None, decisions_path: Path | None = None) -> FastAPI:
    """The app. Everything it uses can be injected (tests); by default keys come from the environment, the
    warehouse from $SMB_WAREHOUSE_DIR, the stores from $SMB_DATA_DIR and the broker from SMB_REDIS_URL
    (connected on the first published event); ``decisions_path`` moves the review decision store (default
    ``smb_warehouse.reconciliation.decisions.store_path()``, the one ``make review`` writes)."""
    keyring = keys if keys is not None else KeyRing.from_env()
    wh = warehouse or PublishedWarehouse()
    state: dict[str, Any] = {"events": event_store, "audit": audit, "redis": redis_client}

    def events() -> EventStore:
        if state["events"] is None:
            state["events"] = EventStore()
        return state["events"]

    def audit_log() -> AuditLog:
        if state["audit"] is None:
            state["audit"] = AuditLog()
        return state["audit"]

    def redis():
        if state["redis"] is None:
            from events import broker

            state["redis"] = broker.client()
        return state["redis"]

    app = FastAPI(
        title="SMB warehouse API", version=API_VERSION, docs_url=None, redoc_url=None,
        description="Versioned REST access to the published warehouse's AI outputs (forecasts, AP reconciliation, "
                    "triage, cash alerts, entities, lineage), the AP review queue and event intake. Authenticate with "
                    "`X-API-Key` (or `Authorization: Bearer`). Errors are JSON `{\"detail\": ...}`.",
    )

    @app.exception_handler(WarehouseUnavailable)
    async def _unavailable(request: Request, exc: WarehouseUnavailable):
        return JSONResponse(status_code=503, content={"detail": str(exc)})

    @app.exception_handler(dbt_manifest.ManifestError)
    async def _no_manifest(request: Request, exc: dbt_manifest.ManifestError):
        return JSONResponse(status_code=503, content={"detail": f"dbt manifest unavailable: {exc}"})

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": errors})

    def principal(api_key: str | None = Depends(_key_header),
                  bearer: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Principal:
        key = api_key or (bearer.credentials if bearer else None)
        found = keyring.principal(key)
        if found is None:
            raise HTTPException(401, "missing or unknown API key (send X-API-Key)", headers={"WWW-Authenticate": "Bearer"})
        return found

    def needs(permission: str) -> Callable[..., Principal]:
        def check(who: Principal = Depends(principal)) -> Principal:
            if not who.can(permission):
                raise HTTPException(403, f"role {who.role!r} may not {permission}")
            return who
        return check

    def writer(permission: str, action: str) -> Callable[..., Principal]:
        """Like ``needs``, and a refused write is audited too."""
        def check(request: Request, who: Principal = Depends(principal)) -> Principal:
            if not who.can(permission):
                audit_log().write(who.name, who.role, request.method, request.url.path, action,
                                  request.path_params.get("invoice_id"), "refused", 403)
                raise HTTPException(403, f"role {who.role!r} may not {permission}")
            return who
        return check

    reader = needs("read")
    errors = {401: {"model": m.Problem}, 403: {"model": m.Problem}, 422: {"model": m.Problem}, 503: {"model": m.Problem}}
    not_found = {**errors, 404: {"model": m.Problem}}

    def page(items: list, limit: int, offset: int, redacted: list[str] | None = None, **extra) -> dict:
        return {"items": items, "limit": limit, "offset": offset, "returned": len(items), "redacted": redacted or [], **extra}

    # ------------------------------------------------------------------------------------------ health
    @app.get("/v1/health", response_model=m.Health, tags=["meta"], summary="Liveness and the published warehouse in use")
    def health():
        try:
            return {"status": "ok", "api_version": API_VERSION, "published_warehouse": wh.info()}
        except WarehouseUnavailable as exc:
            return {"status": "no_published_warehouse", "api_version": API_VERSION, "published_warehouse": None,
                    "detail": str(exc)}

    # ---------------------------------------------------------------------------------------- forecasts
    @app.get("/v1/forecasts", response_model=m.ForecastPage, responses=errors, tags=["forecasting"],
             summary="Demand forecasts by SKU / location / date range, with the model version")
    def forecasts(sku: Annotated[str | None, Query(pattern=ID)] = None,
                  location_id: Annotated[str | None, Query(pattern=ID)] = None,
                  date_from: Day | None = None, date_to: Day | None = None,
                  limit: Limit = 100, offset: Offset = 0, who: Principal = Depends(reader)):
        date_from, date_to = _day("date_from", date_from), _day("date_to", date_to)
        if date_from and date_to and date_from > date_to:
            raise HTTPException(422, "date_from is after date_to")
        where, params = [], []
        for column, value in (("sku", sku), ("location_id", location_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if date_from:
            where.append("forecast_date >= ?")
            params.append(date_from)
        if date_to:
            where.append("forecast_date <= ?")
            params.append(date_to)
        sql = (f"SELECT sku, location_id, origin_date, forecast_date, horizon, prediction, lower, upper, model_name, "
               f"model_version, mlflow_run_id, scored_at FROM {FORECASTS.relation}"
               + (f" WHERE {' AND '.join(where)}" if where else "")
               + " ORDER BY sku, location_id, forecast_date LIMIT ? OFFSET ?")
        return page(wh.records(sql, [*params, limit, offset]), limit, offset)

    # ------------------------------------------------------------------------------------ AP invoices
    decided_cache: dict[str, Any] = {"key": None, "ids": frozenset()}

    def _decided_since_publish() -> frozenset[str]:
        """Invoices with a decision in the store that the published run has not applied yet (its
        reconciliation.review_decisions copy lacks the decision id). Re-read only when the store file or the
        published warehouse changed."""
        store = decisions_path or decision_store.store_path()
        try:
            st = store.stat()
            stamp = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            return frozenset()
        key = (stamp, wh.info()["inode"])
        if decided_cache["key"] != key:
            applied = {r[0] for r in wh.rows(f"SELECT decision_id FROM {REVIEW_DECISIONS.relation}")[1]}
            decided = decision_store.load(store)
            decided_cache["ids"] = frozenset(decided.loc[~decided["decision_id"].isin(applied), "invoice_id"]) \
                if len(decided) else frozenset()
            decided_cache["key"] = key
        return decided_cache["ids"]
    def _outcome(invoice_id: str) -> dict[str, Any]:
        rows = wh.records(f"SELECT * FROM {relation('fct_ap_invoice_outcomes')} WHERE invoice_id = ?", [invoice_id])
        if not rows:
            raise HTTPException(404, f"unknown invoice {invoice_id} in the published warehouse")
        return rows[0]

    @app.get("/v1/invoices/{invoice_id}", response_model=m.InvoiceDetail, responses=not_found, tags=["ap reconciliation"],
             summary="An AP invoice's outcome with its evidence: candidate POs with scores, and the review decisions")
    def invoice(invoice_id: IdPath, who: Principal = Depends(reader)):
        outcome = _outcome(invoice_id)
        candidates = wh.records(f"""
            SELECT c.po_number, s.match_score, c.found_by, c.ref_edit_distance, c.same_supplier, c.amount_ratio,
                   c.quantity_ratio, c.date_gap_days, c.has_receipt, c.is_rule_match
            FROM {relation('int_ap_recon__candidates')} c
            LEFT JOIN {CANDIDATE_SCORES.relation} s USING (invoice_id, po_number)
            WHERE c.invoice_id = ? ORDER BY s.match_score DESC NULLS LAST, c.po_number LIMIT 20""", [invoice_id])
        history = decision_store.load(decisions_path, invoice_id=invoice_id)
        (outcome,), hidden = redact([outcome], model_pii_columns("fct_ap_invoice_outcomes"), who.can("pii"))
        return {"outcome": outcome, "candidates": candidates, "decisions": history.to_dict("records"), "redacted": hidden}

    @app.get("/v1/review-queue", response_model=m.QueuePage, responses=errors, tags=["ap reconciliation"],
             summary="The AP review queue (exceptions waiting for a person), oldest invoice first")
    def review_queue(limit: Limit = 100, offset: Offset = 0,
                     include_decided: Annotated[bool, Query(description="Also list items decided since the publish.")] = False,
                     who: Principal = Depends(reader)):
        recent = sorted(_decided_since_publish())
        rows = wh.records(f"""
            WITH queue AS (
                SELECT invoice_id, supplier_id, exception_reason, suggested_po_number, best_match_score,
                       duplicate_of_invoice_id, po_reference, invoice_date, received_date,
                       CAST(total_amount_base AS DOUBLE) AS total_amount_base,
                       list_contains(?::VARCHAR[], invoice_id) AS decided_since_publish
                FROM {relation('fct_ap_review_queue')})
            SELECT *, count(*) FILTER (WHERE NOT decided_since_publish) OVER () AS _waiting FROM queue
            WHERE ? OR NOT decided_since_publish
            ORDER BY invoice_date, invoice_id LIMIT ? OFFSET ?""", [recent, include_decided, limit, offset])
        waiting = rows[0].pop("_waiting") if rows else wh.rows(
            f"SELECT count(*) FROM {relation('fct_ap_review_queue')} WHERE NOT list_contains(?::VARCHAR[], invoice_id)",
            [recent])[1][0][0]
        for row in rows:
            row.pop("_waiting", None)
        return page(rows, limit, offset, waiting=waiting)

    @app.get("/v1/review-queue/{invoice_id}/decisions", response_model=list[m.ReviewDecision], responses=not_found,
             tags=["ap reconciliation"], summary="The decision history of an invoice (audit trail, oldest first)")
    def decision_history(invoice_id: IdPath, who: Principal = Depends(reader)):
        _outcome(invoice_id)
        return decision_store.load(decisions_path, invoice_id=invoice_id).to_dict("records")

    @app.post("/v1/review-queue/{invoice_id}/decisions", response_model=m.DecisionRecorded, status_code=201,
              responses={**not_found, 400: {"model": m.Problem}, 409: {"model": m.Problem}}, tags=["ap reconciliation"],
              summary="Approve, reject or reassign an invoice's match (reviewer); applied by the next run")
    def decide(invoice_id: IdPath, body: m.DecisionRequest, request: Request,
               who: Principal = Depends(writer("decide", "review_decision"))):
        def refuse(status: int, message: str):
            audit_log().write(who.name, who.role, "POST", request.url.path, f"review_{body.action}", invoice_id,
                              "rejected", status, {"detail": message})
            raise HTTPException(status, message)

        try:
            outcome = _outcome(invoice_id)
        except HTTPException as exc:
            refuse(exc.status_code, str(exc.detail))
        po = body.po_number
        if body.action == "reject" and po:
            refuse(422, "reject takes no po_number")
        if body.action == "reassign" and not po:
            refuse(422, "reassign needs po_number")
        if body.action == "approve" and not po:
            po = outcome.get("suggested_po_number") or outcome.get("matched_po_number")
            if not po:
                refuse(422, "no suggested PO for this invoice: pass po_number")
        if po and not wh.rows(f"SELECT 1 FROM {relation('fct_purchase_order_lines')} WHERE erp_po_number = ? LIMIT 1", [po])[1]:
            refuse(422, f"unknown purchase order {po}")
        decision_id = decision_store.record(invoice_id, body.action, po, who.name, body.reason, path=decisions_path)
        audit_log().write(who.name, who.role, "POST", request.url.path, f"review_{body.action}", invoice_id, "recorded", 201,
                          {"decision_id": decision_id, "po_number": po, "reason": body.reason})
        return {"decision_id": decision_id, "invoice_id": invoice_id, "action": body.action, "po_number": po,
                "decided_by": who.name, "applied": "by the next warehouse_job or apply_review_decisions_job run"}

    # ----------------------------------------------------------------------------------------- triage
    @app.get("/v1/tickets/triage", response_model=m.TriagePage, responses=errors, tags=["support triage"],
             summary="Published ticket triage, optionally by route (a team or human_review)")
    def triage_list(route: Annotated[str | None, Query(pattern=ID)] = None, limit: Limit = 100, offset: Offset = 0,
                    who: Principal = Depends(reader)):
        where = " WHERE route = ?" if route else ""
        rows = wh.records(f"SELECT * FROM {relation('fct_ticket_triage')}{where} ORDER BY support_ticket_id LIMIT ? OFFSET ?",
                          [*([route] if route else []), limit, offset])
        rows, hidden = redact(rows, model_pii_columns("fct_ticket_triage"), who.can("pii"))
        return page(rows, limit, offset, hidden)

    @app.get("/v1/tickets/{ticket_id}/triage", response_model=m.TicketTriageDetail, responses=not_found,
             tags=["support triage"], summary="A ticket's triage and suggested knowledge-base articles (batch and real time)")
    def ticket_triage(ticket_id: IdPath, who: Principal = Depends(reader)):
        rows = wh.records(f"SELECT * FROM {relation('fct_ticket_triage')} WHERE support_ticket_id = ?", [ticket_id])
        realtime = events().decisions(decision="ticket_triage", subject_id=ticket_id)
        if not rows and not realtime:
            raise HTTPException(404, f"unknown ticket {ticket_id}: not in the published triage nor decided in real time")
        articles = wh.records(f"""
            SELECT k.suggestion_rank AS rank, k.support_article_id, a.title, k.similarity
            FROM {KB_SUGGESTIONS.relation} k LEFT JOIN {relation('stg_support__kb_articles')} a USING (support_article_id)
            WHERE k.support_ticket_id = ? ORDER BY k.suggestion_rank""", [ticket_id])
        if not articles and realtime:
            titles = dict(wh.rows(f"SELECT support_article_id, title FROM {relation('stg_support__kb_articles')}")[1])
            articles = [{"rank": s["rank"], "support_article_id": s["support_article_id"],
                         "title": titles.get(s["support_article_id"]), "similarity": s["similarity"]}
                        for s in realtime[0]["detail"].get("kb_suggestions", [])]
        rows, _ = redact(rows, model_pii_columns("fct_ticket_triage"), who.can("pii"))
        return {"triage": rows[0] if rows else None, "suggested_articles": articles, "realtime": realtime}

    # -------------------------------------------------------------------------------------- cash flow
    @app.get("/v1/cash/alerts", response_model=m.CashAlertPage, responses=errors, tags=["cash flow"],
             summary="Open cash-flow alerts, most severe first")
    def cash_alerts(alert_type: Annotated[str | None, Query(pattern=ID)] = None,
                    severity: Annotated[str | None, Query(pattern=ID)] = None,
                    limit: Limit = 100, offset: Offset = 0, who: Principal = Depends(reader)):
        where, params = [], []
        for column, value in (("alert_type", alert_type), ("severity", severity)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        rows = wh.records(f"SELECT * FROM {relation('fct_cash_alerts')}" + (f" WHERE {' AND '.join(where)}" if where else "")
                          + " ORDER BY severity, alert_type, alert_date, alert_id LIMIT ? OFFSET ?", [*params, limit, offset])
        rows, hidden = redact(rows, model_pii_columns("fct_cash_alerts"), who.can("pii"))
        return page(rows, limit, offset, hidden)

    # --------------------------------------------------------------------------------------- entities
    def _unified(kind: str, entity_id: str) -> str:
        model, key, bridge = ENTITY_MODELS[kind]
        if wh.rows(f"SELECT 1 FROM {relation(model)} WHERE {key} = ?", [entity_id])[1]:
            return entity_id
        found = wh.rows(f"SELECT DISTINCT {key} FROM {relation(bridge)} WHERE source_id = ?", [entity_id])[1]
        if len(found) == 1:
            return found[0][0]
        if len(found) > 1:
            raise HTTPException(409, f"source id {entity_id} maps to several {kind}s: {sorted(r[0] for r in found)}")
        raise HTTPException(404, f"unknown {kind} {entity_id} (neither a unified id nor a source id)")

    @app.get("/v1/entities/{kind}/{entity_id}", response_model=m.EntityDetail,
             responses={**not_found, 409: {"model": m.Problem}}, tags=["entities"],
             summary="A customer, supplier or product by unified id or any source id, with its source records")
    def entity(kind: Literal["customer", "supplier", "product"], entity_id: IdPath, who: Principal = Depends(reader)):
        model, key, bridge = ENTITY_MODELS[kind]
        unified = _unified(kind, entity_id)
        record = wh.records(f"SELECT * FROM {relation(model)} WHERE {key} = ?", [unified])
        sources = wh.records(f"SELECT * FROM {relation(bridge)} WHERE {key} = ? ORDER BY source_system, source_id", [unified])
        allowed = who.can("pii")
        record, hidden = redact(record, model_pii_columns(model), allowed)
        sources, hidden2 = redact(sources, model_pii_columns(bridge), allowed)
        return {"kind": kind, "unified_id": unified, "record": record[0] if record else {}, "source_ids": sources,
                "redacted": sorted(set(hidden) | set(hidden2))}

    @app.get("/v1/entities/{kind}/{entity_id}/neighbours", response_model=m.Neighbours,
             responses={**not_found, 409: {"model": m.Problem}}, tags=["entities"],
             summary="Graph neighbours (knowledge graph edges in both directions) of a customer, supplier or product")
    def neighbours(kind: Literal["customer", "supplier", "product"], entity_id: IdPath,
                   edge_type: Annotated[str | None, Query(pattern=ID)] = None, limit: Limit = 100,
                   who: Principal = Depends(reader)):
        unified = _unified(kind, entity_id)
        nodes, edges = relation("dim_graph_nodes"), relation("fct_graph_edges")
        node = wh.rows(f"SELECT node_id FROM {nodes} WHERE node_type = ? AND unified_id = ? LIMIT 1", [kind, unified])[1]
        if not node:
            raise HTTPException(404, f"{kind} {unified} is not in the knowledge graph")
        node_id = node[0][0]
        rows = wh.records(f"""
            SELECT e.edge_type, e.direction, n.node_id, n.node_type, n.unified_id, n.label, e.valid_from, e.valid_to
            FROM (SELECT edge_type, 'out' AS direction, dst_node_id AS other, valid_from, valid_to
                  FROM {edges} WHERE src_node_id = ?
                  UNION ALL
                  SELECT edge_type, 'in', src_node_id, valid_from, valid_to FROM {edges} WHERE dst_node_id = ?) e
            JOIN {nodes} n ON n.node_id = e.other
            WHERE ? IS NULL OR e.edge_type = ?
            ORDER BY e.edge_type, n.node_id LIMIT ?""", [node_id, node_id, edge_type, edge_type, limit])
        rows, _ = redact(rows, model_pii_columns("dim_graph_nodes"), who.can("pii"))
        return {"node_id": node_id, "items": rows}

    # ---------------------------------------------------------------------------------------- lineage
    def _models(pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
        out = []
        for name, version in dict.fromkeys(pairs):
            found = wh.records(f"""SELECT model_name, model_version, data_fingerprint, training_window_start,
                                      training_window_end, run_id, code_version FROM {REGISTRY.relation}
                                   WHERE model_name = ? AND model_version = ?""", [name, version])
            out.append({**found[0], "registered": True} if found else
                       {"model_name": name, "model_version": version, "registered": False})
        return out

    def _split(tagged: str | None, default_name: str) -> tuple[str, str] | None:
        if not tagged:
            return None
        name, sep, version = str(tagged).partition("/")
        return (name, version) if sep else (default_name, str(tagged))

    def _sources(entity, where: str, params: list[Any]) -> tuple[list[dict[str, Any]], bool]:
        rows = wh.records(f"""
            SELECT r._source_file AS source_file, list(r._source_line ORDER BY r._source_line) AS lines,
                   any_value(r._load_id) AS load_id, any_value(a.content_sha256) AS content_sha256,
                   max(r._loaded_at) AS loaded_at
            FROM {entity.qualified_raw_table} r
            LEFT JOIN {AUDIT_TABLE} a ON a.source_file = r._source_file AND a.load_id = r._load_id AND a.status = 'loaded'
            WHERE {where} GROUP BY r._source_file ORDER BY r._source_file""", params)
        truncated = False
        for row in rows:
            row["entity"] = f"{entity.system}/{entity.name}"
            if len(row["lines"]) > SOURCE_LINES_CAP:
                row["lines"], truncated = row["lines"][:SOURCE_LINES_CAP], True
        return rows, truncated

    def _lineage(prediction: str, key: dict[str, Any], row: dict[str, Any], models: list[tuple[str, str]],
                 sources: list[tuple[list[dict[str, Any]], bool]]) -> dict[str, Any]:
        return {"prediction": prediction, "key": key, "row": row, "models": _models(models),
                "sources": [s for part, _ in sources for s in part], "sources_truncated": any(t for _, t in sources)}

    @app.get("/v1/lineage/forecast", response_model=m.Lineage, responses=not_found, tags=["lineage"],
             summary="Lineage of a forecast row: model version, training data fingerprint, source files and lines")
    def lineage_forecast(sku: Annotated[str, Query(pattern=ID)], location_id: Annotated[str, Query(pattern=ID)],
                         forecast_date: Day, who: Principal = Depends(reader)):
        forecast_date = _day("forecast_date", forecast_date)
        rows = wh.records(f"SELECT * FROM {FORECASTS.relation} WHERE sku = ? AND location_id = ? AND forecast_date = ?",
                          [sku, location_id, forecast_date])
        if not rows:
            raise HTTPException(404, f"no forecast for {sku} at {location_id} on {forecast_date}")
        row = rows[0]
        lines, orders = _entity("erp", "sales_order_lines"), _entity("erp", "sales_orders")
        src_lines = _sources(lines, f"r.sku = ? AND r.order_id IN (SELECT order_id FROM {orders.qualified_raw_table} "
                                    "WHERE location_id = ?)", [sku, location_id])
        src_orders = _sources(orders, f"r.location_id = ? AND r.order_id IN (SELECT order_id FROM {lines.qualified_raw_table} "
                                      "WHERE sku = ?)", [location_id, sku])
        return _lineage("forecast", {"sku": sku, "location_id": location_id, "forecast_date": forecast_date}, row,
                        [(row["model_name"], str(row["model_version"]))], [src_lines, src_orders])

    @app.get("/v1/lineage/invoice-outcome/{invoice_id}", response_model=m.Lineage, responses=not_found, tags=["lineage"],
             summary="Lineage of an AP invoice outcome: scorer version, training data, source files and lines")
    def lineage_invoice(invoice_id: IdPath, who: Principal = Depends(reader)):
        row = _outcome(invoice_id)
        (row,), _ = redact([row], model_pii_columns("fct_ap_invoice_outcomes"), who.can("pii"))
        model = _split(row.get("model_version"), "invoice_match_scorer")
        sources = [_sources(_entity("finance", "ap_invoices"), "r.invoice_id = ?", [invoice_id]),
                   _sources(_entity("finance", "ap_invoice_lines"), "r.invoice_id = ?", [invoice_id])]
        return _lineage("invoice_outcome", {"invoice_id": invoice_id}, row, [model] if model else [], sources)

    @app.get("/v1/lineage/bank-txn-score/{txn_id}", response_model=m.Lineage, responses=not_found, tags=["lineage"],
             summary="Lineage of a bank line's anomaly score: scorer version, source file and line")
    def lineage_bank(txn_id: IdPath, who: Principal = Depends(reader)):
        rows = wh.records(f"SELECT * FROM {relation('fct_bank_txn_anomaly_scores')} WHERE finance_bank_txn_id = ?", [txn_id])
        if not rows:
            raise HTTPException(404, f"no anomaly score for bank line {txn_id} in the published warehouse")
        rows, _ = redact(rows, model_pii_columns("fct_bank_txn_anomaly_scores"), who.can("pii"))
        model = _split(rows[0].get("model_version"), "bank_txn_anomaly_scorer")
        return _lineage("bank_txn_score", {"finance_bank_txn_id": txn_id}, rows[0], [model] if model else [],
                        [_sources(_entity("finance", "bank_transactions"), "r.txn_id = ?", [txn_id])])

    @app.get("/v1/lineage/ticket-triage/{ticket_id}", response_model=m.Lineage, responses=not_found, tags=["lineage"],
             summary="Lineage of a ticket's triage: classifier versions, source file and line")
    def lineage_ticket(ticket_id: IdPath, who: Principal = Depends(reader)):
        rows = wh.records(f"SELECT * FROM {relation('fct_ticket_triage')} WHERE support_ticket_id = ?", [ticket_id])
        if not rows:
            raise HTTPException(404, f"ticket {ticket_id} is not in the published triage")
        rows, _ = redact(rows, model_pii_columns("fct_ticket_triage"), who.can("pii"))
        models = [p for p in (_split(rows[0].get("category_model_version"), "ticket_category_classifier"),
                              _split(rows[0].get("priority_model_version"), "ticket_priority_classifier")) if p]
        return _lineage("ticket_triage", {"support_ticket_id": ticket_id}, rows[0], models,
                        [_sources(_entity("support", "tickets"), "r.ticket_id = ?", [ticket_id])])

    # ----------------------------------------------------------------------------------------- events
    def _redact_event(row: dict[str, Any], allowed: bool) -> dict[str, Any]:
        event_type = EVENT_TYPES.get(row.get("type", ""))
        if allowed or event_type is None or not isinstance(row.get("payload"), dict):
            return row
        pii = contract_pii_columns(event_type.contract())
        data = row["payload"].get("data")
        if isinstance(data, dict):
            row["payload"] = {**row["payload"], "data": {k: (None if k in pii else v) for k, v in data.items()}}
            row["redacted"] = sorted(pii & set(data))
        return row

    @app.post("/v1/events", response_model=m.EventAccepted, status_code=202,
              responses={**errors, 400: {"model": m.Problem}}, tags=["events"],
              summary="Webhook: publish one event (publisher or admin); validated against its contract by the consumer")
    async def publish_event(event: Event, request: Request, who: Principal = Depends(writer("publish", "publish_event"))):
        from events.producer import publish

        try:
            stream_id = publish(redis(), event, who.name)
        except Exception as exc:
            audit_log().write(who.name, who.role, "POST", request.url.path, "publish_event", event.event_id, "failed", 503,
                              {"detail": f"{type(exc).__name__}: {exc}"})
            raise HTTPException(503, f"event broker unavailable: {type(exc).__name__}") from None
        audit_log().write(who.name, who.role, "POST", request.url.path, "publish_event", event.event_id, "queued", 202,
                          {"type": event.type, "stream_id": stream_id})
        return {"event_id": event.event_id, "stream_id": stream_id, "status": "queued"}

    @app.get("/v1/events", response_model=m.EventPage, responses=errors, tags=["events"],
             summary="Events received (newest first): landed in a micro-batch, or quarantined with the reason")
    def list_events(status: Literal["landed", "quarantined"] | None = None,
                    type: Annotated[str | None, Query(pattern=r"^[a-z_.]{1,64}$")] = None,
                    limit: Limit = 100, offset: Offset = 0, who: Principal = Depends(reader)):
        rows = [_redact_event(r, who.can("pii")) for r in events().events(status=status, type=type, limit=limit, offset=offset)]
        return page(rows, limit, offset)

    @app.get("/v1/events/{event_id}", response_model=dict[str, Any], responses=not_found, tags=["events"],
             summary="One event: its status, micro-batch file and line (or quarantine reason) and its real-time decision")
    def get_event(event_id: Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_.:\-]{1,128}$")], who: Principal = Depends(reader)):
        row = events().event(event_id)
        if row is None:
            raise HTTPException(404, f"unknown event {event_id} (not received yet, or never published)")
        return _redact_event(row, who.can("pii"))

    @app.get("/v1/decisions", response_model=m.DecisionPage, responses=errors, tags=["events"],
             summary="Real-time AI decisions on events (provisional; the next pipeline run is the source of truth)")
    def list_decisions(decision: Literal["bank_txn_anomaly", "ticket_triage"] | None = None,
                       subject_id: Annotated[str | None, Query(pattern=ID)] = None,
                       limit: Limit = 100, offset: Offset = 0, who: Principal = Depends(reader)):
        return page(events().decisions(decision=decision, subject_id=subject_id, limit=limit, offset=offset), limit, offset)

    # ------------------------------------------------------------------------------------------ audit
    @app.get("/v1/audit", response_model=m.AuditPage, responses=errors, tags=["meta"],
             summary="The API's write audit log, newest first (admin)")
    def audit(limit: Limit = 100, offset: Offset = 0, who: Principal = Depends(needs("audit"))):
        return page(audit_log().rows(limit=limit, offset=offset), limit, offset)

    # ------------------------------------------------------------------------------------ review page
    @app.get("/review", include_in_schema=False)
    def review_page():
        return FileResponse(STATIC / "review.html", media_type="text/html")

    @app.get("/", include_in_schema=False)
    def root():
        return JSONResponse({"api": "/v1", "openapi": "/openapi.json", "review_page": "/review"})

    app.state.warehouse = wh
    return app
