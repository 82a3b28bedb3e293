"""Human review of AP reconciliation exceptions.

    python -m smb_warehouse.reconciliation.review list [--limit N]
    python -m smb_warehouse.reconciliation.review show AP-0000123
    python -m smb_warehouse.reconciliation.review approve AP-0000123 [--po PO-000456] --by NAME --why TEXT
    python -m smb_warehouse.reconciliation.review reject AP-0000123 --by NAME --why TEXT
    python -m smb_warehouse.reconciliation.review reassign AP-0000123 --po PO-000456 --by NAME --why TEXT

Reads the published warehouse (read-only) and appends to the decisions store (smb_warehouse.reconciliation.decisions).
A decision takes effect on the next warehouse_job or apply_review_decisions_job run.
"""
from __future__ import annotations

import argparse
import sys
from contextlib import closing
from pathlib import Path

import duckdb

from smb_warehouse.core.dbt_manifest import relation
from smb_warehouse.core.sql import lit
from smb_warehouse.core.warehouse import Warehouse, connect_published
from smb_warehouse.reconciliation import decisions, tables


def queue_sql() -> str:
    return f"""
SELECT invoice_id, exception_reason, suggested_po_number, round(best_match_score, 3) AS score, po_reference,
       invoice_date, round(total_amount_base, 2) AS amount_base
FROM {relation("fct_ap_review_queue")} ORDER BY invoice_date, invoice_id
"""


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> tuple[list[str], list[tuple]]:
    cur = con.execute(sql, params or [])
    return [d[0] for d in cur.description], cur.fetchall()


def _print_table(columns: list[str], rows: list[tuple]) -> None:
    cells = [columns] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())


def queue_changes(con: duckdb.DuckDBPyConnection, previous: Path) -> dict[str, int]:
    """How the review queue of the warehouse open in ``con`` differs from the one in the ``previous`` publish
    file, with why: {"entered_new": invoices first seen in this publish, "entered_rescored": invoices the
    previous publish already had but did not queue (re-scored, or a new variance), "left_decided": left the
    queue after a review decision, "left_resolved": left without one (matched on re-scoring, or no longer an
    exception)}. Counts of invoices. ``previous`` is attached read-only and detached again."""
    queue, invoices = relation("fct_ap_review_queue"), relation("fct_ap_invoices")
    con.execute(f"ATTACH {lit(str(previous))} AS previous_publish (READ_ONLY)")
    try:
        decided = sorted(set(decisions.load()["invoice_id"]))
        row = con.execute(f"""
            WITH cur AS (SELECT invoice_id FROM {queue}), prev AS (SELECT invoice_id FROM previous_publish.{queue}),
                 prev_invoices AS (SELECT finance_ap_invoice_id AS invoice_id FROM previous_publish.{invoices})
            SELECT
                (SELECT count(*) FROM cur WHERE invoice_id NOT IN (SELECT invoice_id FROM prev)
                                            AND invoice_id NOT IN (SELECT invoice_id FROM prev_invoices)),
                (SELECT count(*) FROM cur WHERE invoice_id NOT IN (SELECT invoice_id FROM prev)
                                            AND invoice_id IN (SELECT invoice_id FROM prev_invoices)),
                (SELECT count(*) FROM prev WHERE invoice_id NOT IN (SELECT invoice_id FROM cur)
                                             AND invoice_id IN (SELECT unnest(?::VARCHAR[]))),
                (SELECT count(*) FROM prev WHERE invoice_id NOT IN (SELECT invoice_id FROM cur)
                                             AND invoice_id NOT IN (SELECT unnest(?::VARCHAR[])))""",
                          [decided, decided]).fetchone()
    finally:
        con.execute("DETACH previous_publish")
    return dict(zip(("entered_new", "entered_rescored", "left_decided", "left_resolved"), row))


def _previous_publish() -> tuple[Path, str] | None:
    """(file, "published <time>") of the publish before the current one, if the history keeps it."""
    wh = Warehouse()
    current, history = wh.current_publish(), wh.history()
    if current is None or current not in history or history.index(current) == 0:
        return None
    before = history[history.index(current) - 1]
    return before.path, f"published {before.published_at}"


def cmd_list(args: argparse.Namespace) -> int:
    decided = set(decisions.load()["invoice_id"])
    previous = _previous_publish()
    with closing(connect_published()) as con:
        columns, rows = _rows(con, queue_sql())
        changes = queue_changes(con, previous[0]) if previous else None
    pending = [r for r in rows if r[0] not in decided]  # decided since the last run: no longer waiting
    shown = pending[: args.limit]
    _print_table(columns, shown)
    print(f"\nshowing {len(shown)} of {len(pending)} invoice(s) waiting for review"
          + (f" (--limit {args.limit}; oldest first)" if len(shown) < len(pending) else "")
          + f"; {len(rows) - len(pending)} decided, applied on the next run")
    if changes is None:
        print("no earlier publish kept: nothing to compare the queue with")
    else:
        print(f"since the previous publish ({previous[1]}): +{changes['entered_new'] + changes['entered_rescored']} "
              f"entered ({changes['entered_new']} invoices new in this load, {changes['entered_rescored']} earlier "
              f"invoices re-scored into review), -{changes['left_decided'] + changes['left_resolved']} left "
              f"({changes['left_decided']} by a review decision, {changes['left_resolved']} matched or resolved "
              "on re-scoring)")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with closing(connect_published()) as con:
        columns, rows = _rows(con, f"SELECT * FROM {relation('fct_ap_invoice_outcomes')} WHERE invoice_id = ?",
                              [args.invoice_id])
        if not rows:
            print(f"unknown invoice {args.invoice_id}", file=sys.stderr)
            return 2
        for name, value in zip(columns, rows[0]):
            print(f"{name:>24}: {'' if value is None else value}")
        print("\ncandidate purchase orders (best first):")
        _print_table(*_rows(con, f"""
            SELECT c.po_number, round(s.match_score, 4) AS score, c.found_by, c.ref_edit_distance AS ref_dist,
                   c.same_supplier, round(c.amount_ratio, 4) AS amount_ratio, round(c.quantity_ratio, 4) AS qty_ratio,
                   c.date_gap_days AS day_gap
            FROM {tables.candidates_relation()} c
            LEFT JOIN {tables.CANDIDATE_SCORES.relation} s USING (invoice_id, po_number)
            WHERE c.invoice_id = ? ORDER BY s.match_score DESC NULLS LAST, c.po_number LIMIT 8""", [args.invoice_id]))
    history = decisions.load(invoice_id=args.invoice_id)
    print("\ndecisions (audit trail, oldest first):")
    if history.empty:
        print("  none")
    else:
        _print_table(list(history.columns), list(history.itertuples(index=False, name=None)))
    return 0


def _decide(args: argparse.Namespace) -> int:
    with closing(connect_published()) as con:
        found = con.execute(f"SELECT suggested_po_number, matched_po_number FROM {relation('fct_ap_invoice_outcomes')} "
                            "WHERE invoice_id = ?", [args.invoice_id]).fetchone()
        if found is None:
            print(f"unknown invoice {args.invoice_id}", file=sys.stderr)
            return 2
        po = getattr(args, "po", None)
        if args.action == "approve" and not po:
            po = found[0] or found[1]
            if not po:
                print("no suggested PO for this invoice: pass --po", file=sys.stderr)
                return 2
        if po and not con.execute(f"SELECT 1 FROM {relation('fct_purchase_order_lines')} WHERE erp_po_number = ? LIMIT 1",
                                  [po]).fetchone():
            print(f"unknown purchase order {po}", file=sys.stderr)
            return 2
    decision_id = decisions.record(args.invoice_id, args.action, po, args.by, args.why)
    target = f" -> {po}" if po and args.action != "reject" else ""
    print(f"recorded {args.action} of {args.invoice_id}{target} by {args.by} ({decision_id}); "
          "applied on the next run (apply_review_decisions_job)")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m smb_warehouse.reconciliation.review", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    ls = sub.add_parser("list", help="invoices waiting for review")
    ls.add_argument("--limit", type=int, default=50)
    ls.set_defaults(func=cmd_list)
    show = sub.add_parser("show", help="an invoice's outcome, candidate POs and decision history")
    show.add_argument("invoice_id")
    show.set_defaults(func=cmd_show)
    for action, needs_po in (("approve", False), ("reject", None), ("reassign", True)):
        s = sub.add_parser(action, help=f"{action} an invoice's match")
        s.add_argument("invoice_id")
        if needs_po is not None:
            s.add_argument("--po", required=needs_po, help="ERP PO number" + ("" if needs_po else " (default: the suggested PO)"))
        s.add_argument("--by", required=True, help="your name")
        s.add_argument("--why", required=True, help="reason, kept in the audit trail")
        s.set_defaults(func=_decide, action=action)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except FileNotFoundError as exc:
        print(str(exc), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
